/**
 * Message headers between coordinator, workers and ring peers, each checked
 * at the boundary. A message that fails is dropped and counted by the caller.
 */
import { z } from 'zod';
import { ProtocolError } from '../util/errors.js';
import { MAX_SPANS } from '../observe/spans.js';
import { decode, type Decoded, type Limits, DEFAULT_LIMITS, type TypedArray } from './codec.js';

const int = z.number().int();
const nonneg = int.nonnegative();
const finite = z.number().finite();
/** A worker's timeline since its last report (observe/spans.ts): flat triples of lane index, start and duration in ms. */
const spans = z.array(finite).max(3 * MAX_SPANS).optional();

/** How a worker's collectives reach the others: its ring neighbour, or the parameter-server shards. */
const collective = z.discriminatedUnion('strategy', [
  z.object({
    strategy: z.literal('ring'),
    right: z.string(),
    chunkBytes: int.positive(),
    compression: z.enum(['bf16', 'fp16']).optional(),
    // every worker shares this machine: sums go through this shared-memory object (worker/host-sum.ts), not the ring's sockets
    host: z.object({ name: z.string().regex(/^\/dtrain-[0-9a-f]{16}$/) }).optional(),
  }),
  z.object({
    strategy: z.literal('ps'),
    shards: z.array(z.object({ endpoint: z.string(), offset: nonneg, length: nonneg })).min(1),
    staleness: nonneg.optional(),
  }),
]);
export type CollectiveSetup = z.infer<typeof collective>;

/**
 * How the ring and ps links of a session are protected: `clear` (no cluster
 * key: loopback or --insecure), `sealed` (every message carries a tag made
 * with `key`, this session's, see frame-seal.ts) or `encrypted` (CURVE with
 * the cluster key, cluster.encrypt).
 */
const dataPlane = z.discriminatedUnion('mode', [z.object({ mode: z.literal('clear') }), z.object({ mode: z.literal('sealed'), key: z.string() }), z.object({ mode: z.literal('encrypted') })]);
export type DataPlane = z.infer<typeof dataPlane>;

/** An optimizer state's description; its slots travel in a tensor frame (tensor/optimizers/state-blob.ts). Null: not stepped yet. */
const optimizerMeta = z
  .object({ name: z.string(), iteration: nonneg, scalars: z.record(finite).optional(), slots: z.array(z.string()), size: nonneg })
  .nullable();

export const headerSchemas = {
  // worker or ps shard → coordinator; `endpoint` is the worker's ring socket or the shard's server socket
  // machine: which processes can share memory with the worker (worker/host-memory.ts machineId); absent where it cannot
  join: z.object({ role: z.enum(['worker', 'ps']).default('worker'), host: z.string(), pid: int, endpoint: z.string(), machine: z.string().max(300).optional() }),
  ready: z.object({ rank: nonneg, backend: z.string(), backendReason: z.string(), adapter: z.string().max(512).optional(), paramCount: nonneg }),
  // counts: the job type's own sums over the worker's samples (e.g. correct)
  stepDone: z.object({ step: nonneg, lossSum: finite, count: nonneg, computeMs: finite, commMs: finite, counts: z.record(finite), skipped: z.boolean().optional(), spans, spansDropped: nonneg.optional(),
    // the step's collectives: waiting for peers, exchanging, bytes summed; messages the worker dropped so far this session
    waitMs: finite.optional(), reduceMs: finite.optional(), reduceBytes: nonneg.optional(), dropped: nonneg.optional() }),
  // paramsCrc: CRC-32 of the worker's flat parameters, which every replica must hold alike
  evalDone: z.object({ id: nonneg, lossSum: finite, count: nonneg, counts: z.record(finite), paramsCrc: nonneg.optional(), spans, spansDropped: nonneg.optional() }),
  agreed: z.object({ paramsCrc: nonneg }),
  // params: + the flat parameters, the state, the optimizer states the worker applies itself (ring; a GAN's per network)
  params: z.object({ rank: nonneg, optimizers: z.array(optimizerMeta) }),
  failed: z.object({ message: z.string() }),
  pong: z.object({ t: finite }),
  // coordinator → worker
  // start: + the initial flat parameters, the initial state (batch-norm moving statistics) and the optimizer
  // states to resume from (empty: fresh optimizers)
  start: z.object({ rank: nonneg, size: int.positive(), job: z.record(z.unknown()), collective, dataPlane, optimizers: z.array(optimizerMeta).default([]) }),
  step: z.object({ step: nonneg, epoch: nonneg, lr: finite, globalBatch: int.positive(), offset: nonneg.default(0) }),
  // clean: the model alone, without a job type's extra evaluation (an adversarial job's attacks): periodic evaluations
  // split: which held-out samples the indices are of (data.validation's for periodic evaluations where the job has it)
  eval: z.object({ id: nonneg, clean: z.boolean().optional(), split: z.enum(['test', 'validation']).optional() }),
  // refresh: bring the parameters up to the shards' first (strategy ps); a checkpoint takes them from the shards
  // instead, since a pull by rank 0 alone would put its collective counter out of step with the others'
  fetchParams: z.object({ refresh: z.boolean().default(true) }),
  // agree: every worker brings its parameters up to date and answers `agreed` with their CRC-32 (before a model is saved)
  agree: z.object({}),
  // rejoin: the job goes on without this session (a member was lost): join again for the next one
  stop: z.object({ reason: z.string(), rejoin: z.boolean().optional() }),
  ping: z.object({ t: finite }),
  // ring peer → ring peer
  ring: z.object({ op: nonneg, step: nonneg, chunk: nonneg }),
  // coordinator → ps shard: the slice it owns, its optimizer, and the mode; + the initial slice
  psStart: z.object({
    index: nonneg,
    shards: int.positive(),
    workers: int.positive(),
    offset: nonneg,
    length: nonneg,
    optimizer: z.record(z.unknown()),
    clipNorm: z.number().positive().optional(),
    staleness: nonneg.optional(),
    /** The identity of each rank's connection (ps/peer-id.ts): the shard serves these alone. */
    peers: z.array(z.string().max(1024)).max(100_000).optional(),
    /** A shard that hears nothing from the coordinator this long stops. */
    heartbeatTimeoutMs: int.positive(),
    /** Resuming: the slice's optimizer state, whose slots are the second frame. */
    optimizerState: optimizerMeta.default(null),
    dataPlane,
  }),
  // coordinator → ps shard, between steps (a checkpoint): the slice and its optimizer state → psState
  psFetch: z.object({}),
  // ps shard → coordinator
  psReady: z.object({ index: nonneg }),
  // + the slice's parameters and its optimizer state's slots
  psState: z.object({ index: nonneg, optimizerState: optimizerMeta }),
  // worker → ps shard (op: the worker's collective counter, equal across workers)
  psSum: z.object({ op: nonneg, rank: nonneg }),
  psUpdate: z.object({ op: nonneg, rank: nonneg, step: nonneg, lr: finite, scale: finite }),
  psClip: z.object({ op: nonneg, rank: nonneg, factor: finite }),
  psPull: z.object({ op: nonneg, rank: nonneg }),
  // ps shard → worker
  psSlice: z.object({ op: nonneg }),
  psNorm: z.object({ op: nonneg, sq: finite }),
  psError: z.object({ op: nonneg, message: z.string() }),
} as const;

export type MessageType = keyof typeof headerSchemas;
export type Header<T extends MessageType = MessageType> = T extends MessageType ? z.infer<(typeof headerSchemas)[T]> & { type: T } : never;

/** Number of tensor frames each message type carries. */
const tensorCount: Record<MessageType, number> = {
  join: 0, ready: 0, stepDone: 0, evalDone: 0, agreed: 0, params: 3, failed: 0, pong: 0,
  start: 3, step: 1, eval: 1, fetchParams: 0, agree: 0, stop: 0, ping: 0, ring: 1,
  psStart: 2, psFetch: 0, psReady: 0, psState: 2, psSum: 1, psUpdate: 1, psClip: 0, psPull: 0, psSlice: 1, psNorm: 0, psError: 0,
};

export interface Message<T extends MessageType = MessageType> {
  header: Header<T>;
  tensors: TypedArray[];
}

/** Decodes and validates a message; throws ProtocolError naming what is wrong. */
export function parseMessage(frames: Uint8Array[], limits: Limits = DEFAULT_LIMITS): Message {
  const d: Decoded = decode(frames, limits);
  const type = d.header.type;
  // Own keys only: `in` would take "toString" or "constructor" for message types.
  if (typeof type !== 'string' || !Object.hasOwn(headerSchemas, type)) throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  const t = type as MessageType;
  const r = headerSchemas[t].safeParse(d.header);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ProtocolError(`${t}: ${i.path.join('.') || 'header'}: ${i.message}`);
  }
  if (d.tensors.length !== tensorCount[t]) throw new ProtocolError(`${t}: expected ${tensorCount[t]} tensors, got ${d.tensors.length}`);
  return { header: { ...r.data, type: t } as Header<MessageType>, tensors: d.tensors };
}

export function isType<T extends MessageType>(m: Message, t: T): m is Message<T> {
  return m.header.type === t;
}
