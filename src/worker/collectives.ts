/**
 * The compute thread's side of the collectives. The blocking forms wait with
 * Atomics.wait while the comm thread exchanges the shared buffer: that is
 * what lets a collective run inside a (synchronous) tfjs forward or gradient
 * function. The others are the same exchange without blocking.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CTL_DONE_SEQ, type CollectiveOp, type CollectiveReply, type CollectiveRequest } from './comm-protocol.js';
import type { LocalUpdate } from './reducers/local-update.js';
import type { UpdateArgs } from './reducers/reducer.js';
import type { SpanBuffer } from '../observe/spans.js';
import type { HostSum } from './host-sum.js';

export interface SharedBuffers {
  grads: Float32Array;
  params: Float32Array;
  /** Scratch for small sums (sumStatsSync, broadcastFromRank0). */
  stats: Float32Array;
}

export interface CollectivesOptions {
  port: MessagePort;
  ctl: Int32Array;
  /** Workers in the job: with one, a sum is the identity and skips the comm thread. */
  size: number;
  rank: number;
  buffers: SharedBuffers;
  /** Set when the strategy updates locally (reducers/make.ts: updatesLocally): sum, then this optimizer here. */
  local?: LocalUpdate;
  /** Workers on one machine: every sum goes through shared memory on this thread, not through the comm thread. */
  host?: HostSum;
  /** Hears the timeline of every collective (the wait for peers, the exchange) and of the local optimizer step. */
  spans?: SpanBuffer;
}

/** A step's collectives: the wait for the first word from a peer, the exchange after it, and the bytes summed. */
export interface CollectiveTimes {
  /** Absent where the strategy cannot tell the wait from the exchange (ps). */
  waitMs?: number;
  reduceMs: number;
  reduceBytes: number;
}

export class Collectives {
  private seq = 0;
  /** Requests sent without waiting (startAllReduceRange), oldest first; their replies are read before any later one. */
  private outstanding: number[] = [];
  /** The bytes each request in flight sums, by sequence number. */
  private readonly bytes = new Map<number, number>();
  private times: CollectiveTimes = { reduceMs: 0, reduceBytes: 0 };
  /** Messages the comm thread dropped as malformed, since the session began. */
  dropped = 0;
  constructor(private readonly o: CollectivesOptions) {}

  /** Whether sums can be started ahead of the update (ring: the comm thread sums while compute goes on). */
  get canStartEarly(): boolean {
    return this.o.local !== undefined && this.o.size > 1 && !this.o.host;
  }

  /** Starts summing grads[offset, offset + length) over the workers and returns at once; `update(args, true)` waits for it. */
  startAllReduceRange(offset: number, length: number): void {
    if (this.o.host) this.sumHere(this.o.buffers.grads.subarray(offset, offset + length));
    else if (this.o.size > 1) this.outstanding.push(this.request({ op: 'allReduce', offset, length, compress: true }));
  }

  /** The shared gradient buffer ← its sum over all workers, blocking this thread. */
  allReduceSync(): void {
    if (this.o.host) this.sumHere(this.o.buffers.grads);
    else if (this.o.size > 1) this.block({ op: 'allReduce', compress: true });
  }

  async allReduce(): Promise<void> {
    if (this.o.host) this.sumHere(this.o.buffers.grads);
    else if (this.o.size > 1) await this.exchange({ op: 'allReduce', compress: true });
  }

  /** grads[offset, offset + length) ← its sum over all workers (one network of several in the buffer). */
  async allReduceRange(offset: number, length: number): Promise<void> {
    if (this.o.host) this.sumHere(this.o.buffers.grads.subarray(offset, offset + length));
    else if (this.o.size > 1) await this.exchange({ op: 'allReduce', offset, length, compress: true });
  }

  /** The sum of `values` over all workers, blocking this thread (batch-norm statistics inside a training pass). */
  sumStatsSync(values: Float32Array): Float32Array {
    if (this.o.size === 1) return values;
    if (this.o.host) return this.sumHere(values.slice());
    this.stage(values);
    this.block({ op: 'sumStats', length: values.length });
    return this.o.buffers.stats.slice(0, values.length);
  }

  /** Rank 0's `values` on every worker: a sum to which the others add zeros (exact). */
  async broadcastFromRank0(values: Float32Array): Promise<Float32Array> {
    if (this.o.size === 1 || values.length === 0) return values;
    if (this.o.host) return this.sumHere(this.o.rank === 0 ? values.slice() : new Float32Array(values.length));
    this.stage(this.o.rank === 0 ? values : new Float32Array(values.length));
    await this.exchange({ op: 'sumStats', length: values.length });
    return this.o.buffers.stats.slice(0, values.length);
  }

  /**
   * One optimizer step of the job from the shared gradients; the shared
   * parameters hold the result. `started`: every part of the gradient
   * buffer has been handed to startAllReduceRange, so only those sums are
   * awaited.
   */
  async update(args: UpdateArgs, started = false): Promise<boolean> {
    if (!this.o.local) {
      await this.exchange({ op: 'update', args });
      return true;
    }
    if (started) await this.settle();
    else await this.allReduce();
    const t = performance.now();
    const applied = this.o.local.apply(this.o.buffers.params, this.o.buffers.grads, args);
    // Sharded across the workers of one machine: each updated its own range; every worker takes the others'
    // (timed as the optimizer's: it sums nothing). Every worker skips a sum that is not finite alike, and then none gathers.
    if (applied && this.o.local.range) this.o.host!.gather(this.o.buffers.params);
    this.o.spans?.add('optimizer', t);
    return applied;
  }

  /** Waits for the sums started without waiting, and checks their replies. */
  private async settle(): Promise<void> {
    const last = this.outstanding.at(-1);
    if (last === undefined) return;
    await this.doneAsync(last);
    this.collect();
  }

  /** Brings the shared parameters up to the job's current ones (local updates keep them current). */
  async refresh(): Promise<void> {
    if (!this.o.local) await this.exchange({ op: 'refresh' });
  }

  /** `buf` ← its sum over the workers, through shared memory, timed as the comm thread's sums are; returns it. */
  private sumHere(buf: Float32Array): Float32Array {
    const t = performance.now();
    const waited = this.o.host!.sum(buf);
    const end = performance.now();
    this.times.waitMs = (this.times.waitMs ?? 0) + waited;
    this.times.reduceMs += end - t - waited;
    this.times.reduceBytes += buf.byteLength;
    if (waited > 0) this.o.spans?.add('waiting for peers', t, t + waited);
    this.o.spans?.add('all-reduce', t + waited, end);
    return buf;
  }

  private stage(values: Float32Array): void {
    const s = this.o.buffers.stats;
    if (values.length > s.length) throw new Error(`a sum of ${values.length} values; the scratch buffer holds ${s.length}`);
    s.set(values);
  }

  private block(req: CollectiveOp): void {
    const seq = this.request(req);
    for (let done = Atomics.load(this.o.ctl, CTL_DONE_SEQ); done < seq; done = Atomics.load(this.o.ctl, CTL_DONE_SEQ)) {
      Atomics.wait(this.o.ctl, CTL_DONE_SEQ, done);
    }
    this.collect();
    this.reply(seq);
  }

  private async exchange(req: CollectiveOp): Promise<void> {
    const seq = this.request(req);
    await this.doneAsync(seq);
    this.collect();
    this.reply(seq);
  }

  private async doneAsync(seq: number): Promise<void> {
    for (let done = Atomics.load(this.o.ctl, CTL_DONE_SEQ); done < seq; done = Atomics.load(this.o.ctl, CTL_DONE_SEQ)) {
      const w = Atomics.waitAsync(this.o.ctl, CTL_DONE_SEQ, done);
      if (w.async) await w.value;
    }
  }

  /** Reads the replies of the requests started without waiting (the comm thread runs requests in order: they are done). */
  private collect(): void {
    const started = this.outstanding;
    this.outstanding = [];
    for (const seq of started) this.reply(seq);
  }

  /** The time spent waiting for peers and exchanging, and the bytes summed, since the last call. */
  takeTimes(): CollectiveTimes {
    const t = this.times;
    this.times = { reduceMs: 0, reduceBytes: 0 };
    return t;
  }

  private request(req: CollectiveOp): number {
    const seq = ++this.seq;
    const { grads, params } = this.o.buffers;
    const values = req.op === 'allReduce' ? (req.length ?? grads.length) : req.op === 'sumStats' ? req.length : req.op === 'update' ? grads.length : params.length;
    this.bytes.set(seq, 4 * values);
    this.o.port.postMessage({ ...req, seq } as CollectiveRequest);
    return seq;
  }

  private reply(seq: number): void {
    const r = receiveMessageOnPort(this.o.port)?.message as CollectiveReply | undefined;
    if (!r || r.seq !== seq) throw new Error(`collective ${seq}: no matching reply from the comm thread`);
    const bytes = this.bytes.get(seq) ?? 0;
    this.bytes.delete(seq);
    if (r.error) throw new Error(`collective failed: ${r.error}`);
    if (r.dropped !== undefined) this.dropped = r.dropped;
    if (!r.at) return;
    const [start, heard, end] = r.at;
    const known = !Number.isNaN(heard);
    const from = known ? heard : start;
    if (known) this.times.waitMs = (this.times.waitMs ?? 0) + (heard - start);
    this.times.reduceMs += end - from;
    this.times.reduceBytes += bytes;
    if (known && heard > start) this.o.spans?.addEpoch('waiting for peers', start, heard);
    this.o.spans?.addEpoch('all-reduce', from, end);
  }
}
