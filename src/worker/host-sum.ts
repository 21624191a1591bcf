/**
 * The all-reduce of workers that share a machine, through shared memory
 * (host-memory.ts), run on the compute thread itself: no socket, no thread
 * hop. The same-host counterpart of MPI's shared-memory transport.
 *
 * The shared object holds a header (a barrier counter, an abort flag, each
 * worker's piece length) and two sets of N slots. A buffer longer than a
 * slot goes in pieces; piece k uses set k mod 2. For each piece, worker r:
 *   1. copies its values into its slot;              barrier
 *   2. adds segment r of the other slots into its own slot's segment r, in
 *      the TCP ring's order (x_r + x_r+1 + … + x_r−1, ranks mod N), and
 *      copies that into its buffer;                 barrier
 *   3. copies the other segments' sums from their owners' slots.
 * Each value is summed once, by its segment's owner, so every worker ends
 * with the same bits, and with the bits the TCP ring gives (its segment r
 * starts at worker r and gathers the others in turn): the transport does
 * not change a job's numbers. (A plain 0…N−1 order changed a 3-worker
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
 * fails sets the abort flag, so that its peers fail at once rather than at
 * the deadline; a session that ends (the comm thread's word) stops a wait
 * within SLEEP_MS. Workers that disagree on a piece's length (a different
 * sequence of sums) fail, as the ring does, rather than add unrelated values.
 */
import type { HostMemory } from './host-memory.js';
import { ProtocolError } from '../util/errors.js';

const ARRIVE = 0;
const ABORT = 1;
/**
 * Word LENGTHS + set·N + q: the length of the piece worker q is summing in
 * that set (negative: gathering); every worker must do the same. One word
 * per set, as the slots: a worker may start the next piece while another
 * still checks this one's.
 */
const LENGTHS = 2;
/** The header: the words above, in 64-byte lines. */
const headerBytes = (size: number) => Math.ceil((4 * (LENGTHS + 2 * size)) / 64) * 64;
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
  /** A barrier that waits longer than this for its peers fails the sum. */
  timeoutMs: number;
  /** Whether the session has ended (a peer was lost, the job stopped): a waiting barrier gives up. */
  ended: () => boolean;
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
  private attached = false;
  private closed = false;

  constructor(private readonly o: HostSumOptions) {
    if (o.size < 2 || o.rank < 0 || o.rank >= o.size) throw new RangeError(`shared-memory sum: rank ${o.rank} of ${o.size}`);
    if (!(o.slotFloats >= 1)) throw new RangeError(`shared-memory sum: slots of ${o.slotFloats} values`);
    const shared = o.memory.open(o.name, hostSumBytes(o.size, o.slotFloats));
    const header = headerBytes(o.size);
    this.words = new Int32Array(shared, 0, LENGTHS + 2 * o.size);
    this.slots = [0, 1].map((set) => Array.from({ length: o.size }, (_, q) => new Float32Array(shared, header + (set * o.size + q) * o.slotFloats * 4, o.slotFloats)));
  }

  /** buf ← its element-wise sum over the workers. Returns the ms spent waiting for the others to arrive. */
  sum(buf: Float32Array): number {
    if (this.closed) throw new Error('shared-memory sum: closed');
    let waited = 0;
    try {
      for (let a = 0; a < buf.length; a += this.o.slotFloats) waited += this.piece(buf.subarray(a, Math.min(buf.length, a + this.o.slotFloats)));
    } catch (err) {
      this.abort();
      throw err;
    }
    return waited;
  }

  private piece(buf: Float32Array): number {
    const { rank: r, size: n } = this.o;
    const set = this.pieces++ & 1;
    const slots = this.slots[set];
    const len = buf.length;
    const seg = (q: number) => [Math.floor((q * len) / n), Math.floor(((q + 1) * len) / n)] as const;
    slots[r].set(buf);
    Atomics.store(this.words, LENGTHS + set * n + r, len);
    const waited = this.barrier();
    this.checkLengths(set, len);
    if (!this.attached) {
      // Every worker has the object mapped: its name is no longer needed.
      this.attached = true;
      if (r === 0) this.o.memory.unlink(this.o.name);
    }
    const [a, b] = seg(r);
    const acc = slots[r].subarray(a, b);
    const own = buf.subarray(a, b);
    for (let k = 1; k < n; k++) this.o.memory.add(acc, slots[(r + k) % n].subarray(a, b));
    own.set(acc);
    this.barrier();
    for (let q = 0; q < n; q++) {
      if (q === r) continue;
      const [c, d] = seg(q);
      buf.set(slots[q].subarray(c, d), c);
    }
    return waited;
  }

  /**
   * buf ← every worker's own range of it: worker q's values at
   * ownedRange(buf.length, q, N) (the parameters it updated), in pieces as
   * the sum goes. Exact: values are copied, never added.
   */
  gather(buf: Float32Array): void {
    if (this.closed) throw new Error('shared-memory gather: closed');
    const { rank: r, size: n, slotFloats } = this.o;
    const ranges = Array.from({ length: n }, (_, q) => ownedRange(buf.length, q, n));
    try {
      for (let a = 0; a < buf.length; a += slotFloats) {
        const b = Math.min(buf.length, a + slotFloats);
        const set = this.pieces++ & 1;
        const slots = this.slots[set];
        // Each worker's range within this piece, in the piece's coordinates.
        const part = (q: number) => [Math.max(ranges[q][0], a) - a, Math.min(ranges[q][1], b) - a] as const;
        const [c, d] = part(r);
        if (d > c) slots[r].set(buf.subarray(a + c, a + d), c);
        Atomics.store(this.words, LENGTHS + set * n + r, -(b - a)); // a gather's piece: negative, never a sum's
        this.barrier();
        this.checkLengths(set, -(b - a));
        for (let q = 0; q < n; q++) {
          const [e, g] = part(q);
          if (q !== r && g > e) buf.set(slots[q].subarray(e, g), a + e);
        }
      }
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  private checkLengths(set: number, len: number): void {
    for (let q = 0; q < this.o.size; q++) {
      const theirs = Atomics.load(this.words, LENGTHS + set * this.o.size + q);
      // Workers that disagree on the sequence of sums would add unrelated values: fail, as the ring does.
      if (theirs !== len) throw new ProtocolError(`shared-memory sum out of step: worker #${q} ${describe(theirs)} where worker #${this.o.rank} ${describe(len)}`);
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
      if (Atomics.load(w, ABORT) !== 0) throw new Error('shared-memory sum: a peer failed');
      const waited = performance.now() - t0;
      if (this.o.ended()) throw new Error('shared-memory sum: the session ended');
      if (waited > this.o.timeoutMs) throw new Error(`shared-memory sum: worker #${this.o.rank} waited ${Math.round(waited)} ms for the other ${n - 1} (cluster.heartbeatTimeoutMs sets the deadline)`);
      memory.wait(w, ARRIVE, now, SLEEP_MS);
    }
  }

  /** Peers waiting in a barrier fail at once rather than at their deadline. */
  private abort(): void {
    Atomics.store(this.words, ABORT, 1);
    this.o.memory.wake(this.words, ARRIVE, 0x7fffffff);
  }

  /** Ends this session's sums: any peer still waiting fails, and the name is removed if no one has yet. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort();
    this.o.memory.unlink(this.o.name);
  }
}
