/** Messages between a worker's compute thread and its comm thread (postMessage, same process). */
import type { MessagePort } from 'node:worker_threads';
import type { ClusterKey } from '../wire/cluster-key.js';
import type { CollectiveSetup, DataPlane, Message } from '../wire/messages.js';
import type { UpdateArgs, UpdateRule } from './reducers/reducer.js';

export interface CommConfig {
  /** Coordinator endpoint, tcp://host:port. */
  connect: string;
  /** Address the ring PULL socket binds to. */
  bindHost: string;
  /** Address peers use to reach this worker's ring socket. */
  advertiseHost: string;
  identity: string;
  /** Rejoining after a lost coordinator: give up when it stays silent this long (undefined: wait for ever). */
  giveUpMs?: number;
  /** The cluster key: the coordinator link is CURVE, and so is the ring when the job encrypts. */
  key?: ClusterKey;
}

/** What the comm thread needs to run a job's collectives. */
export interface CollectivesSetup {
  rank: number;
  size: number;
  collective: CollectiveSetup;
  dataPlane: DataPlane;
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
  | { kind: 'fatal'; message: string }
  /** The session ended without a failure of ours: told to rejoin, or the coordinator fell silent. */
  | { kind: 'ended'; why: SessionEnd; message: string };

/** Collective requests on the dedicated port; replies come back on it, read synchronously. */
export type CollectiveOp = { op: 'allReduce'; offset?: number; length?: number; compress?: boolean } | { op: 'sumStats'; length: number } | { op: 'update'; args: UpdateArgs } | { op: 'refresh' };
export type CollectiveRequest = CollectiveOp & { seq: number };
export interface CollectiveReply {
  seq: number;
  error?: string;
  /** When the comm thread ran it (ms since the epoch): started, first heard from a peer (the wait for it ends; NaN: not known), finished. */
  at?: [number, number, number];
  /** Messages the comm thread has dropped as malformed since the session began. */
  dropped?: number;
}

/** How a worker's session ended when it was not by a failure of its own. */
export type SessionEnd = 'stop' | 'rejoin' | 'coordinatorLost';
export const SESSION_ENDS: readonly SessionEnd[] = ['stop', 'rejoin', 'coordinatorLost'];

/** Slots of the shared Int32Array: the last finished collective, and why the session was ended (1 + SESSION_ENDS index; 0 while it runs). */
export const CTL_DONE_SEQ = 0;
export const CTL_ENDED = 1;
export const CTL_INTS = 2;
