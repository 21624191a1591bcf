/** Messages between a worker's compute thread and its comm thread (postMessage, same process). */
import type { MessagePort } from 'node:worker_threads';
import type { CollectiveSetup, Message } from '../wire/messages.js';
import type { UpdateArgs, UpdateRule } from './reducers/reducer.js';

export interface CommConfig {
  /** Coordinator endpoint, tcp://host:port. */
  connect: string;
  /** Address the ring PULL socket binds to. */
  bindHost: string;
  /** Address peers use to reach this worker's ring socket. */
  advertiseHost: string;
  identity: string;
}

/** What the comm thread needs to run a job's collectives. */
export interface CollectivesSetup {
  rank: number;
  size: number;
  collective: CollectiveSetup;
  rule: UpdateRule;
  /** Flat gradient and parameter buffers, shared with the compute thread. */
  grads: SharedArrayBuffer;
  params: SharedArrayBuffer;
  /** Small sums made inside a training pass (batch-norm statistics) and the state broadcast. */
  stats: SharedArrayBuffer;
  control: SharedArrayBuffer;
  port: MessagePort;
  heartbeatTimeoutMs: number;
}

/** compute → comm */
export type ToComm = { kind: 'send'; frames: Uint8Array[] } | ({ kind: 'setup' } & CollectivesSetup) | { kind: 'shutdown' };

/** comm → compute */
export type FromComm =
  | { kind: 'message'; message: Message }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { kind: 'fatal'; message: string };

/** Collective requests on the dedicated port; replies come back on it, read synchronously. */
export type CollectiveOp = { op: 'allReduce'; offset?: number; length?: number } | { op: 'sumStats'; length: number } | { op: 'update'; args: UpdateArgs } | { op: 'refresh' };
export type CollectiveRequest = CollectiveOp & { seq: number };
export interface CollectiveReply {
  seq: number;
  error?: string;
}

/** Slots of the shared Int32Array that signals a finished collective. */
export const CTL_DONE_SEQ = 0;
export const CTL_INTS = 2;
