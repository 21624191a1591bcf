/**
 * Message headers between coordinator, workers and ring peers, each checked
 * at the boundary. A message that fails is dropped and counted by the caller.
 */
import { z } from 'zod';
import { ProtocolError } from '../errors.js';
import { decode, type Decoded, type Limits, DEFAULT_LIMITS, type TypedArray } from './codec.js';

const int = z.number().int();
const nonneg = int.nonnegative();
const finite = z.number().finite();

export const headerSchemas = {
  // worker → coordinator
  join: z.object({ host: z.string(), pid: int, ringEndpoint: z.string() }),
  ready: z.object({ rank: nonneg, backend: z.string(), backendReason: z.string(), paramCount: nonneg }),
  stepDone: z.object({ step: nonneg, lossSum: finite, count: nonneg, correct: nonneg, computeMs: finite, commMs: finite }),
  evalDone: z.object({ id: nonneg, lossSum: finite, count: nonneg, correct: nonneg }),
  params: z.object({ rank: nonneg }),
  failed: z.object({ message: z.string() }),
  pong: z.object({ t: finite }),
  // coordinator → worker
  start: z.object({ rank: nonneg, size: int.positive(), job: z.record(z.unknown()), ringRight: z.string(), chunkBytes: int.positive() }),
  step: z.object({ step: nonneg, epoch: nonneg, lr: finite, globalBatch: int.positive() }),
  eval: z.object({ id: nonneg }),
  fetchParams: z.object({}),
  stop: z.object({ reason: z.string() }),
  ping: z.object({ t: finite }),
  // ring peer → ring peer
  ring: z.object({ op: nonneg, step: nonneg, chunk: nonneg }),
} as const;

export type MessageType = keyof typeof headerSchemas;
export type Header<T extends MessageType = MessageType> = T extends MessageType ? z.infer<(typeof headerSchemas)[T]> & { type: T } : never;

/** Number of tensor frames each message type carries. */
const tensorCount: Record<MessageType, number> = {
  join: 0, ready: 0, stepDone: 0, evalDone: 0, params: 1, failed: 0, pong: 0,
  start: 1, step: 1, eval: 1, fetchParams: 0, stop: 0, ping: 0, ring: 1,
};

export interface Message<T extends MessageType = MessageType> {
  header: Header<T>;
  tensors: TypedArray[];
}

/** Decodes and validates a message; throws ProtocolError naming what is wrong. */
export function parseMessage(frames: Uint8Array[], limits: Limits = DEFAULT_LIMITS): Message {
  const d: Decoded = decode(frames, limits);
  const type = d.header.type;
  if (!(type in headerSchemas)) throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
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
