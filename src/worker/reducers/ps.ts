/**
 * The worker's side of the parameter-server strategy. K shards each own a
 * contiguous slice of the flat parameters and that slice's optimizer state;
 * a worker talks to every shard at once, one request per shard per
 * collective, numbered by `op` (the same sequence on every worker).
 *
 *  - allReduce: each shard sums its part of every worker's buffer (in rank
 *    order) and sends the sum back: a summation service.
 *  - update, synchronous: push the gradient slices; each shard sums all
 *    workers' slices, applies the optimizer and returns the updated slice.
 *    With clipNorm the shards must agree on the global norm, which none of
 *    them sees whole: each returns its slice's Σg² first, every worker adds
 *    the K numbers in shard order (so all get the same norm), and sends the
 *    clipping factor back; the shard checks that the factors agree, then
 *    applies the optimizer. One extra round trip, only when clipping.
 *  - update, bounded staleness: the shard applies each worker's gradient as
 *    it arrives (clipped by that gradient's own norm, which the worker knows
 *    whole) and returns the slice as it now stands.
 *  - refresh: pull the current slices.
 */
import { ProtocolError } from '../../util/errors.js';
import { encode, type TypedArray } from '../../wire/codec.js';
import { parseMessage, type Header, type Message, type MessageType } from '../../wire/messages.js';
import { clipFactor, l2norm } from '../../tensor/schedule.js';
import { ClosedError, type Channel } from '../../wire/transport.js';
import type { DropHandler, GradientReducer, UpdateArgs } from './reducer.js';

export interface ShardLink {
  channel: Channel;
  /** The parameter slice the shard owns. */
  offset: number;
  length: number;
}

export interface PsOptions {
  rank: number;
  shards: ShardLink[];
  clipNorm?: number;
  /** Set: bounded-staleness mode (the bound itself is kept by the coordinator). */
  staleness?: number;
  onDrop?: DropHandler;
}

type Request = Header<'psSum' | 'psUpdate' | 'psClip' | 'psPull'>;

export class PsReducer implements GradientReducer {
  private op = 0;
  constructor(private readonly o: PsOptions) {
    let next = 0;
    for (const [k, s] of o.shards.entries()) {
      if (s.offset !== next) throw new RangeError(`ps shard #${k} starts at ${s.offset}, expected ${next}: slices must be contiguous`);
      next += s.length;
    }
  }

  async allReduce(buf: Float32Array): Promise<void> {
    const op = this.op++;
    const k = this.o.shards.length;
    // Any buffer, not only the parameters (batch-norm statistics too): cut it evenly over the shards.
    await this.eachShard(async (s, i) => {
      const a = Math.floor((i * buf.length) / k);
      const b = Math.floor(((i + 1) * buf.length) / k);
      const sum = await this.call(i, { type: 'psSum', op, rank: this.o.rank }, [buf.subarray(a, b)], 'psSlice');
      buf.set(this.slice(sum, b - a, i), a);
    });
  }

  async update(grads: Float32Array, params: Float32Array, u: UpdateArgs): Promise<void> {
    const op = this.op++;
    const { rank, clipNorm } = this.o;
    const inv = 1 / u.globalBatch;
    const stale = this.o.staleness !== undefined;
    const scale = stale && clipNorm !== undefined ? inv * clipFactor(inv * l2norm(grads), clipNorm) : inv;
    const push = (s: ShardLink): [Request, TypedArray[]] => [{ type: 'psUpdate', op, rank, step: u.step, lr: u.lr, scale }, [grads.subarray(s.offset, s.offset + s.length)]];
    if (stale || clipNorm === undefined) {
      await this.eachShard(async (s, i) => params.set(this.slice(await this.call(i, ...push(s), 'psSlice'), s.length, i), s.offset));
      return;
    }
    const sq = await this.eachShard(async (s, i) => (await this.call(i, ...push(s), 'psNorm')).header.sq);
    let total = 0;
    for (const x of sq) total += x;
    const factor = clipFactor(inv * Math.sqrt(total), clipNorm);
    await this.eachShard(async (s, i) => params.set(this.slice(await this.call(i, { type: 'psClip', op, rank, factor }, [], 'psSlice'), s.length, i), s.offset));
  }

  async refresh(params: Float32Array): Promise<void> {
    const op = this.op++;
    await this.eachShard(async (s, i) => params.set(this.slice(await this.call(i, { type: 'psPull', op, rank: this.o.rank }, [], 'psSlice'), s.length, i), s.offset));
  }

  close(): void {
    for (const s of this.o.shards) s.channel.close();
  }

  private eachShard<T>(fn: (s: ShardLink, i: number) => Promise<T>): Promise<T[]> {
    return Promise.all(this.o.shards.map(fn));
  }

  private slice(m: Message, len: number, shard: number): Float32Array {
    const t = m.tensors[0];
    if (!(t instanceof Float32Array) || t.length !== len) throw new ProtocolError(`ps shard #${shard} sent ${t?.length ?? 0} values, expected ${len} float32`);
    return t;
  }

  /** Sends one request to shard `i` and waits for its answer to the same op. */
  private async call<T extends MessageType>(i: number, header: Request, tensors: TypedArray[], want: T): Promise<Message<T>> {
    const ch = this.o.shards[i].channel;
    await ch.send(encode(header, tensors));
    for (;;) {
      let frames;
      try {
        frames = await ch.receive();
      } catch (err) {
        if (err instanceof ClosedError) throw new ProtocolError(`link to ps shard #${i} closed during a collective`, { cause: err });
        throw err;
      }
      let m: Message;
      try {
        m = parseMessage(frames);
      } catch (err) {
        this.o.onDrop?.(`ps shard #${i}: ${(err as Error).message}`);
        continue;
      }
      const h = m.header;
      if (h.type === 'psError') throw new ProtocolError(`ps shard #${i}: ${h.message}`);
      if (h.type !== want || !('op' in h) || h.op !== header.op) {
        throw new ProtocolError(`ps shard #${i} out of step: expected ${want} for op ${header.op}, got ${h.type}${'op' in h ? ` for op ${String(h.op)}` : ''}`);
      }
      return m as Message<T>;
    }
  }
}
