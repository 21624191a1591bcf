/**
 * The all-reduce of workers that share a machine, through shared memory
 * (host-memory.ts), run on the compute thread itself: no socket, no thread
 * hop. The same-host counterpart of MPI's shared-memory transport.
 *
 * The shared object holds a header (a barrier counter, an abort flag, each
 * worker's piece length) and two sets of N slots. A buffer longer than a
 * slot goes in pieces; piece k uses set k mod 2. For each piece, worker r:
 *   1. copies its values into its slot;              barrier
 *   2. adds the other slots' values in its part of the piece into its own
 *      slot, in the TCP ring's order (x_r + x_r+1 + … + x_r−1, ranks mod N),
 *      and copies that into its buffer;             barrier
 *   3. copies the other segments' sums from their owners' slots.
 * Worker r's part is where the piece meets segment r of the whole buffer
 * (⌊rL/N⌋ to ⌊(r+1)L/N⌋, the TCP ring's segments). Each value is summed
 * once, by its owner, so every worker ends with the same bits, and with the
 * bits the TCP ring gives (its segment r starts at worker r and gathers the
 * others in turn): the transport does not change a job's numbers (the
 * ring's cluster.overlap, which sums buckets, aside). (A plain 0…N−1 order changed a 3-worker
 * synchronized batch-norm run by 1.6e-3 relative after 21 steps: the
 * variance from summed squares magnifies rounding.)
 *
 * Piece k+1 writes the other set, and piece k+2 (the same set again) starts
 * only after the barriers of piece k+1, which every worker reaches after it
 * has read piece k: one set never has readers and a writer at once. A
 * gather (of the parameters each worker updated, for the optimizer sharded
 * across the workers) is one copy in, one barrier, copies out, on the same
 * sets.
 *
 * A barrier sleeps on a futex that the last worker to arrive wakes. (Spinning
 * first was slower in `npm run bench -- allreduce` on 2 cores: 1 MiB with 2
 * workers 0.36 ms spinning 0.1 ms, 0.25 ms not; with 4 workers 0.89 and
 * 0.51 ms: a spinning worker holds the core its peer needs.) A worker that
 * fails sets the abort flag, so that its peers fail at once; a session that
 * ends (the comm thread's word) stops a wait within SLEEP_MS, and is no
 * failure (it sets no flag: a peer must see the end itself and join the
 * next session, not fail). Workers that disagree on a piece's length or on
 * which collective it belongs to fail, as the ring does, rather than add
 * unrelated values.
 */
import type { HostMemory } from './host-memory.js';
import { DtrainError, errorMessage, ProtocolError } from '../util/errors.js';

const ARRIVE = 0;
const ABORT = 1;
/**
 * Words LENGTHS + 2(set·N + q) and the next: the length of the piece worker
 * q is summing in that set (negative: gathering) and the number of the sum
 * or gather it belongs to; every worker must do the same. Words per set, as
 * the slots: a worker may start the next piece while another still checks
 * this one's.
 */
const LENGTHS = 2;
/** The header: the words above, in 64-byte lines. */
const headerBytes = (size: number) => Math.ceil((4 * (LENGTHS + 4 * size)) / 64) * 64;
/** How long one sleep lasts before the session and the deadline are checked again. */
const SLEEP_MS = 20;

export interface HostSumOptions {
  memory: HostMemory;
  /** The shared-memory object's name, the same for every worker of the session ('/dtrain-…'). */
  name: string;
  rank: number;
  size: number;
  /** Values per slot: longer buffers are summed in pieces of this many. */
  slotFloats: number;
  /** A barrier that waits longer than this for its peers fails the sum (Infinity: only the session's end stops it). */
  timeoutMs: number;
  /** Whether the session has ended (a peer was lost, the job stopped): a waiting barrier gives up. */
  ended: () => boolean;
}

/** One piece of a sum or gather: its values, its set of slots, and each worker's part [c, d) in the piece's coordinates. */
interface Piece {
  buf: Float32Array;
  set: number;
  slots: Float32Array[];
  parts: (readonly [number, number])[];
  op: number;
}

/** Values per slot where the buffers are longer: 4 MiB, so that 4 workers' two sets of slots take 32 MiB; longer sums go in pieces. */
export const HOST_SLOT_FLOATS = 1 << 20;

class SessionEndedError extends DtrainError {
  constructor() {
    super('shared-memory sum: the session ended');
  }
}

/** A peer set the abort flag: it failed, and reports that failure itself (the job's cause, not this worker's). */
export class PeerFailedError extends DtrainError {
  constructor() {
    super('shared-memory sum: a peer failed');
  }
}

const describe = (len: number) => (len >= 0 ? `sums ${len} values` : `gathers ${-len} values`);

/**
 * The part [a, b) of a buffer of `length` values that worker `rank` of
 * `size` updates itself (the optimizer sharded across the workers of one
 * machine) and hands the others in a gather: contiguous, in rank order.
 */
export function ownedRange(length: number, rank: number, size: number): [number, number] {
  return [Math.floor((rank * length) / size), Math.floor(((rank + 1) * length) / size)];
}

/** The bytes a session's shared object takes: the header and two sets of N slots. */
export function hostSumBytes(size: number, slotFloats: number): number {
  return headerBytes(size) + 2 * size * slotFloats * 4;
}

export class HostSum {
  private readonly words: Int32Array;
  /** [set][rank] */
  private readonly slots: Float32Array[][];
  private barriers = 0;
  private pieces = 0;
  /** Sums and gathers so far (their pieces carry it, checked across workers). */
  private ops = 0;
  private attached = false;
  private closed = false;

  constructor(private readonly o: HostSumOptions) {
    if (o.size < 2 || o.rank < 0 || o.rank >= o.size) throw new RangeError(`shared-memory sum: rank ${o.rank} of ${o.size}`);
    if (!(o.slotFloats >= 1)) throw new RangeError(`shared-memory sum: slots of ${o.slotFloats} values`);
    const bytes = hostSumBytes(o.size, o.slotFloats);
    let shared: ArrayBuffer;
    try {
      shared = o.memory.open(o.name, bytes);
    } catch (err) {
      throw new Error(`the shared memory for the sums (${(bytes / 2 ** 20).toFixed(1)} MiB in /dev/shm) could not be had: ${errorMessage(err)}. Give /dev/shm more room (docker run --shm-size) or set cluster.transport: tcp`);
    }
    const header = headerBytes(o.size);
    this.words = new Int32Array(shared, 0, LENGTHS + 4 * o.size);
    this.slots = [0, 1].map((set) => Array.from({ length: o.size }, (_, q) => new Float32Array(shared, header + (set * o.size + q) * o.slotFloats * 4, o.slotFloats)));
  }

  /** buf ← its element-wise sum over the workers. Returns the ms spent waiting for the others to arrive. */
  sum(buf: Float32Array): number {
    return this.inPieces('sum', buf, (p) => {
      const { rank: r, size: n } = this.o;
      p.slots[r].set(p.buf);
      const waited = this.meet(p, p.buf.length);
      const [a, b] = p.parts[r];
      if (b > a) {
        const acc = p.slots[r].subarray(a, b);
        for (let k = 1; k < n; k++) this.o.memory.add(acc, p.slots[(r + k) % n].subarray(a, b));
        p.buf.set(acc, a);
      }
      this.barrier();
      this.copyOthers(p);
      return waited;
    });
  }

  /**
   * buf ← every worker's own range of it: worker q's values at
   * ownedRange(buf.length, q, N) (the parameters it updated), in pieces as
   * the sum goes. Exact: values are copied, never added.
   */
  gather(buf: Float32Array): void {
    this.inPieces('gather', buf, (p) => {
      const [c, d] = p.parts[this.o.rank];
      if (d > c) p.slots[this.o.rank].set(p.buf.subarray(c, d), c);
      this.meet(p, -p.buf.length); // a gather's piece: negative, never a sum's
      this.copyOthers(p);
      return 0;
    });
  }

  /**
   * Runs `step` on each piece of `buf` (slotFloats values at most), with the
   * piece's set of slots and every worker's part of it: where the piece
   * meets that worker's segment of the whole buffer (the TCP ring's
   * segments), so each value has the same owner however the buffer is cut
   * into pieces. A failure sets the abort flag (failed). Returns the sum of
   * what `step` returns.
   */
  private inPieces(what: 'sum' | 'gather', buf: Float32Array, step: (p: Piece) => number): number {
    if (this.closed) throw new Error(`shared-memory ${what}: closed`);
    const { size: n, slotFloats } = this.o;
    const ranges = Array.from({ length: n }, (_, q) => ownedRange(buf.length, q, n));
    let total = 0;
    try {
      const op = ++this.ops;
      for (let from = 0; from < buf.length; from += slotFloats) {
        const to = Math.min(buf.length, from + slotFloats);
        const clamp = (i: number) => Math.min(to, Math.max(from, i)) - from;
        const set = this.pieces++ & 1;
        total += step({ buf: buf.subarray(from, to), set, slots: this.slots[set], parts: ranges.map(([a, b]) => [clamp(a), clamp(b)] as const), op });
      }
    } catch (err) {
      this.failed(err);
      throw err;
    }
    return total;
  }

  /**
   * Says what this worker does with the piece (`len` values, negative for a
   * gather), waits for the others, and checks that they do the same.
   * Returns the ms waited.
   */
  private meet(p: Piece, len: number): number {
    this.announce(p.set, len, p.op);
    const waited = this.barrier();
    this.checkStep(p.set, len, p.op);
    if (!this.attached) {
      // Every worker has the object mapped: its name is no longer needed.
      this.attached = true;
      if (this.o.rank === 0) this.o.memory.unlink(this.o.name);
    }
    return waited;
  }

  /** The other workers' parts of the piece, from their slots into the buffer. */
  private copyOthers(p: Piece): void {
    p.parts.forEach(([c, d], q) => {
      if (q !== this.o.rank && d > c) p.buf.set(p.slots[q].subarray(c, d), c);
    });
  }

  /** This worker's piece of this set: its length and the number of the sum or gather it belongs to. */
  private announce(set: number, len: number, op: number): void {
    const at = LENGTHS + 2 * (set * this.o.size + this.o.rank);
    Atomics.store(this.words, at, len);
    Atomics.store(this.words, at + 1, op | 0);
  }

  /** Workers that disagree on the sequence of sums would add unrelated values: fail, naming it, as the ring does. */
  private checkStep(set: number, len: number, op: number): void {
    for (let q = 0; q < this.o.size; q++) {
      const at = LENGTHS + 2 * (set * this.o.size + q);
      const [theirs, theirOp] = [Atomics.load(this.words, at), Atomics.load(this.words, at + 1)];
      if (theirs !== len || theirOp !== (op | 0)) {
        throw new ProtocolError(`shared-memory sum out of step: worker #${q} ${describe(theirs)} (its collective ${theirOp}) where worker #${this.o.rank} ${describe(len)} (its collective ${op | 0})`);
      }
    }
  }

  /** Waits until every worker has arrived here; returns the ms waited. */
  private barrier(): number {
    const { memory, size: n } = this.o;
    const w = this.words;
    const target = (++this.barriers * n) | 0;
    if (((Atomics.add(w, ARRIVE, 1) + 1) | 0) === target) {
      memory.wake(w, ARRIVE, 0x7fffffff);
      return 0;
    }
    const t0 = performance.now();
    for (;;) {
      const now = Atomics.load(w, ARRIVE);
      if (((now - target) | 0) >= 0) return performance.now() - t0;
      // The session's end first: a peer that ended it is not a failure here (this worker joins the next session).
      if (this.o.ended()) throw new SessionEndedError();
      if (Atomics.load(w, ABORT) !== 0) throw new PeerFailedError();
      const waited = performance.now() - t0;
      if (waited > this.o.timeoutMs) throw new Error(`shared-memory sum: worker #${this.o.rank} waited ${Math.round(waited)} ms for the other ${n - 1}`);
      memory.wait(w, ARRIVE, now, SLEEP_MS);
    }
  }

  /**
   * A sum or gather that failed here: peers waiting in a barrier fail at
   * once rather than at their deadline. A session that ended is no failure:
   * the peers see the end themselves (within SLEEP_MS), and an abort could
   * reach one before its own word of the end, failing it instead of letting
   * it join the next session.
   */
  private failed(err: unknown): void {
    if (err instanceof SessionEndedError) return;
    Atomics.store(this.words, ABORT, 1);
    this.o.memory.wake(this.words, ARRIVE, 0x7fffffff);
  }

  /** This worker failed (outside a sum too): peers waiting in a barrier fail at once. */
  fail(): void {
    this.failed(new Error('failed'));
  }

  /** Ends this session's sums (a peer still waiting sees the session end itself) and removes the name if no one has yet. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.o.memory.unlink(this.o.name);
  }
}
