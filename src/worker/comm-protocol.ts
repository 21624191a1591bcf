/** Messages between a worker's compute thread and its comm thread (postMessage, same process). */
import type { MessagePort } from 'node:worker_threads';
import type { Message } from '../shared/protocol/messages.js';

export interface CommConfig {
  /** Coordinator endpoint, tcp://host:port. */
  connect: string;
  /** Address the ring PULL socket binds to. */
  bindHost: string;
  /** Address peers use to reach this worker's ring socket. */
  advertiseHost: string;
  identity: string;
}

/** compute → comm */
export type ToComm =
  | { kind: 'send'; frames: Uint8Array[] }
  | { kind: 'setupRing'; rank: number; size: number; ringRight: string; chunkBytes: number; grads: SharedArrayBuffer; control: SharedArrayBuffer; port: MessagePort; heartbeatTimeoutMs: number }
  | { kind: 'shutdown' };

/** comm → compute */
export type FromComm =
  | { kind: 'message'; message: Message }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { kind: 'fatal'; message: string };

/** Collective requests on the dedicated port; replies come back on it, read synchronously. */
export interface CollectiveRequest {
  op: 'allReduce';
  seq: number;
}
export interface CollectiveReply {
  seq: number;
  error?: string;
}

/** Slots of the shared Int32Array that signals a finished collective. */
export const CTL_DONE_SEQ = 0;
export const CTL_INTS = 2;
