/**
 * The compute side of a worker's collectives against a fake comm side: the
 * shared buffers, the ctl word it waits on, and the port its requests and
 * replies travel on. The non-blocking calls are answered from this thread;
 * the blocking ones (Atomics.wait) block this thread, so a worker thread
 * answers them.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Collectives, type SharedBuffers } from '../src/worker/collectives.js';
import { CTL_DONE_SEQ, CTL_INTS, type CollectiveReply, type CollectiveRequest } from '../src/worker/comm-protocol.js';
import { LocalUpdate } from '../src/worker/reducers/local-update.js';
import { sleep, until, withDeadline } from './helpers/fake-peer.js';

const N = 8;
const STATS = 4;
/** The other workers' contribution to each sum. */
const PEER = Float32Array.from({ length: N }, (_, i) => 100 + i);

const shared = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));

/** A comm side on this thread: sums the peer's contribution in, runs a plain SGD for `update`, records each request. */
class FakeComm {
  readonly requests: CollectiveRequest[] = [];
  /** stats[0, length) as staged when each sumStats request arrived. */
  readonly staged: number[][] = [];
  failNext: string | undefined;
  wrongSeq = false;
  peerStats = PEER.slice(0, STATS);

  constructor(
    private readonly port: MessagePort,
    private readonly ctl: Int32Array,
    private readonly b: SharedBuffers,
  ) {
    port.on('message', (req: CollectiveRequest) => this.handle(req));
  }

  private handle(req: CollectiveRequest): void {
    this.requests.push(req);
    const reply: CollectiveReply = { seq: this.wrongSeq ? req.seq + 1 : req.seq };
    if (this.failNext !== undefined) {
      reply.error = this.failNext;
      this.failNext = undefined;
    } else if (req.op === 'allReduce') {
      const from = req.offset ?? 0;
      const to = req.length === undefined ? N : from + req.length;
      for (let i = from; i < to; i++) this.b.grads[i] += PEER[i];
    } else if (req.op === 'sumStats') {
      this.staged.push(Array.from(this.b.stats.subarray(0, req.length)));
      for (let i = 0; i < req.length; i++) this.b.stats[i] += this.peerStats[i];
    } else if (req.op === 'update') {
      for (let i = 0; i < N; i++) this.b.params[i] -= (req.args.lr * (this.b.grads[i] + PEER[i])) / req.args.globalBatch;
    } else this.b.params.fill(7); // refresh: the job's current parameters
    this.port.postMessage(reply);
    Atomics.store(this.ctl, CTL_DONE_SEQ, req.seq);
    Atomics.notify(this.ctl, CTL_DONE_SEQ);
  }
}

const ports: MessagePort[] = [];
const threads: Worker[] = [];

afterEach(async () => {
  for (const p of ports.splice(0)) p.close();
  await Promise.all(threads.splice(0).map((t) => t.terminate()));
});

function buffers(): SharedBuffers {
  const b = { grads: shared(N), params: shared(N), stats: shared(STATS) };
  b.grads.set(Array.from({ length: N }, (_, i) => i + 1));
  b.params.set(Array.from({ length: N }, (_, i) => 10 * i));
  return b;
}

function rig(size: number, rank: number, local?: LocalUpdate) {
  const b = buffers();
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_INTS * 4));
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const comm = new FakeComm(port2, ctl, b);
  return { b, comm, c: new Collectives({ port: port1, ctl, size, rank, buffers: b, local }) };
}

const within = <T>(p: Promise<T>) => withDeadline(p, 5000, 'the collective');
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('collectives (compute side), answered from this thread', () => {
  it('allReduce sums the whole gradient buffer; allReduceRange only its range', async () => {
    const { b, comm, c } = rig(2, 1);
    await within(c.allReduce());
    expect(Array.from(b.grads)).toEqual(range(N, (i) => i + 1 + 100 + i));
    await within(c.allReduceRange(2, 3));
    expect(Array.from(b.grads)).toEqual(range(N, (i) => (i >= 2 && i < 5 ? 2 : 1) * (100 + i) + i + 1));
    expect(comm.requests).toEqual([
      { op: 'allReduce', compress: true, seq: 1 },
      { op: 'allReduce', offset: 2, length: 3, compress: true, seq: 2 },
    ]);
  });

  it('broadcastFromRank0: rank 0 stages its values, the others zeros; every rank gets rank 0’s, as a copy', async () => {
    const r1 = rig(3, 1);
    r1.b.stats.fill(9); // stale scratch must not leak into the sum
    r1.comm.peerStats = Float32Array.from([1, 2, 3, 0]); // what rank 0 adds
    const got = await within(r1.c.broadcastFromRank0(Float32Array.from([5, 6, 7])));
    expect(Array.from(got)).toEqual([1, 2, 3]);
    expect(r1.comm.staged).toEqual([[0, 0, 0]]);
    r1.b.stats.fill(-1);
    expect(Array.from(got)).toEqual([1, 2, 3]);

    const r0 = rig(3, 0);
    r0.comm.peerStats = new Float32Array(STATS); // the others add zeros
    expect(Array.from(await within(r0.c.broadcastFromRank0(Float32Array.from([4, 5]))))).toEqual([4, 5]);
    expect(r0.comm.staged).toEqual([[4, 5]]);
    expect(r0.comm.requests).toEqual([{ op: 'sumStats', length: 2, seq: 1 }]);

    const empty = new Float32Array(0);
    expect(await within(r0.c.broadcastFromRank0(empty))).toBe(empty);
    await sleep(20);
    expect(r0.comm.requests).toHaveLength(1); // nothing to broadcast: no request
  });

  it('update and refresh go to the comm side when it runs the optimizer', async () => {
    const { b, comm, c } = rig(2, 0);
    await within(c.update({ step: 3, lr: 0.5, globalBatch: 4 }));
    expect(Array.from(b.params)).toEqual(range(N, (i) => 10 * i - (0.5 * (i + 1 + 100 + i)) / 4));
    await within(c.refresh());
    expect(Array.from(b.params)).toEqual(range(N, () => 7));
    expect(comm.requests).toEqual([
      { op: 'update', args: { step: 3, lr: 0.5, globalBatch: 4 }, seq: 1 },
      { op: 'refresh', seq: 2 },
    ]);
  });

  it('with a local optimizer, update all-reduces the gradients and steps here; refresh is a no-op', async () => {
    const { b, comm, c } = rig(2, 1, new LocalUpdate({ optimizer: { name: 'sgd', lr: 0.1 } }));
    const before = Array.from(b.params);
    await within(c.update({ step: 0, lr: 0.1, globalBatch: 2 }));
    expect(comm.requests).toEqual([{ op: 'allReduce', compress: true, seq: 1 }]);
    const summed = range(N, (i) => i + 1 + 100 + i);
    expect(Array.from(b.grads)).toEqual(summed);
    b.params.forEach((p, i) => expect(p).toBeCloseTo(before[i] - (0.1 * summed[i]) / 2, 4));
    await within(c.refresh());
    await sleep(20);
    expect(comm.requests).toHaveLength(1);
  });

  it('sums started without waiting: a later call reads their replies first, and update(args, true) only waits for them', async () => {
    const { b, comm, c } = rig(2, 1, new LocalUpdate({ optimizer: { name: 'sgd', lr: 0.1 } }));
    expect(c.canStartEarly).toBe(true);
    c.startAllReduceRange(4, 4);
    c.startAllReduceRange(0, 4);
    // A sum of statistics in between: its reply comes after the two started ones, and must still be matched to it.
    b.stats.set([1, 2, 3, 4]);
    await within(c.broadcastFromRank0(Float32Array.from([1, 2, 3, 4])));
    c.startAllReduceRange(0, 2);
    await within(c.update({ step: 0, lr: 0.1, globalBatch: 2 }, true));
    expect(comm.requests.map((r) => [r.op, 'offset' in r ? r.offset : undefined, 'length' in r ? r.length : undefined, r.seq])).toEqual([
      ['allReduce', 4, 4, 1],
      ['allReduce', 0, 4, 2],
      ['sumStats', undefined, 4, 3],
      ['allReduce', 0, 2, 4],
    ]);
    // [0, 2) summed twice, the rest once: no whole-buffer sum was added by update.
    expect(Array.from(b.grads)).toEqual(range(N, (i) => i + 1 + (i < 2 ? 2 : 1) * (100 + i)));
    // The comparison can fail: without `started`, update sums the whole buffer once more.
    await within(c.update({ step: 1, lr: 0.1, globalBatch: 2 }));
    expect(comm.requests.at(-1)).toEqual({ op: 'allReduce', compress: true, seq: 5 });
  });

  it('one worker cannot start sums early: there is nothing to overlap', () => {
    expect(rig(1, 0, new LocalUpdate({ optimizer: { name: 'sgd', lr: 0.1 } })).c.canStartEarly).toBe(false);
    expect(rig(2, 0).c.canStartEarly).toBe(false); // the optimizer runs on the comm side (ps)
  });

  it('one worker: sums are the identity and never reach the comm side; update still does', async () => {
    const { b, comm, c } = rig(1, 0);
    const grads = Array.from(b.grads);
    await within(c.allReduce());
    await within(c.allReduceRange(1, 2));
    const v = Float32Array.from([1, 2]);
    expect(await within(c.broadcastFromRank0(v))).toBe(v);
    expect(Array.from(b.grads)).toEqual(grads);
    await within(c.update({ step: 0, lr: 1, globalBatch: 1 }));
    expect(comm.requests.map((r) => [r.op, r.seq])).toEqual([['update', 1]]);
  });

  it('an error reported by the comm side rejects the call; the next call works', async () => {
    const { b, comm, c } = rig(2, 0);
    comm.failNext = 'ring neighbour gone';
    await expect(within(c.allReduce())).rejects.toThrow('collective failed: ring neighbour gone');
    await within(c.allReduce());
    expect(b.grads[0]).toBe(1 + 100);
    expect(comm.requests.map((r) => r.seq)).toEqual([1, 2]);
  });

  it('a reply for another collective is an error', async () => {
    const { comm, c } = rig(2, 0);
    comm.wrongSeq = true;
    await expect(within(c.refresh())).rejects.toThrow('collective 1: no matching reply from the comm thread');
  });

  it('refuses a sum larger than the scratch buffer before asking anything', async () => {
    const { comm, c } = rig(2, 0);
    expect(() => c.sumStatsSync(new Float32Array(STATS + 1))).toThrow(`a sum of ${STATS + 1} values; the scratch buffer holds ${STATS}`);
    await expect(c.broadcastFromRank0(new Float32Array(STATS + 1))).rejects.toThrow(/scratch buffer holds/);
    await sleep(20);
    expect(comm.requests).toEqual([]);
  });
});

/**
 * The same fake comm side in a worker thread (plain JS, eval'd). A watchdog
 * wakes this thread after 10 s if no answer came, so a broken blocking call
 * fails ("no matching reply") instead of hanging the test run.
 */
const COMM_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { port, grads, stats, ctl, peer, failOp } = workerData;
const g = new Float32Array(grads), s = new Float32Array(stats), c = new Int32Array(ctl);
const wake = setTimeout(() => { Atomics.store(c, 0, 1 << 30); Atomics.notify(c, 0); }, 10000);
port.on('message', (req) => {
  const reply = { seq: req.seq };
  if (req.op === failOp) reply.error = 'peer lost mid-sum';
  else if (req.op === 'allReduce') for (let i = 0; i < g.length; i++) g[i] += peer[i];
  else if (req.op === 'sumStats') for (let i = 0; i < req.length; i++) s[i] += peer[i];
  parentPort.postMessage(req);
  port.postMessage(reply);
  Atomics.store(c, 0, req.seq);
  Atomics.notify(c, 0);
});
parentPort.postMessage('ready');
`;

async function threadRig(failOp?: string, size = 2) {
  const b = buffers();
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_INTS * 4));
  const { port1, port2 } = new MessageChannel();
  ports.push(port1);
  const seen: (CollectiveRequest | 'ready')[] = [];
  const errors: Error[] = [];
  const t = new Worker(COMM_THREAD, { eval: true, workerData: { port: port2, grads: b.grads.buffer, stats: b.stats.buffer, ctl: ctl.buffer, peer: PEER, failOp }, transferList: [port2] });
  threads.push(t);
  t.on('message', (m: CollectiveRequest | 'ready') => seen.push(m));
  t.on('error', (e) => errors.push(e));
  await until(() => seen.includes('ready') || errors.length > 0, 'the comm thread to start');
  expect(errors).toEqual([]);
  return { b, seen, c: new Collectives({ port: port1, ctl, size, rank: 0, buffers: b }) };
}

describe('collectives (compute side), blocking, answered from a worker thread', () => {
  it('allReduceSync and sumStatsSync block until the comm thread has summed', async () => {
    const { b, seen, c } = await threadRig();
    c.allReduceSync();
    expect(Array.from(b.grads)).toEqual(range(N, (i) => i + 1 + 100 + i));
    const sum = c.sumStatsSync(Float32Array.from([1, 2, 3]));
    expect(Array.from(sum)).toEqual([101, 103, 105]);
    await until(() => seen.length === 3, 'the requests reported');
    expect(seen.slice(1)).toEqual([
      { op: 'allReduce', compress: true, seq: 1 },
      { op: 'sumStats', length: 3, seq: 2 },
    ]);
  });

  it('one worker: the blocking sums return at once, without the comm thread', async () => {
    const { b, seen, c } = await threadRig(undefined, 1);
    c.allReduceSync();
    expect(Array.from(b.grads)).toEqual(range(N, (i) => i + 1));
    const v = Float32Array.from([1, 2]);
    expect(c.sumStatsSync(v)).toBe(v);
    await sleep(50);
    expect(seen).toEqual(['ready']);
  });

  it('an error from the comm thread makes the blocking call throw', async () => {
    const { c } = await threadRig('sumStats');
    expect(() => c.sumStatsSync(Float32Array.from([1]))).toThrow('collective failed: peer lost mid-sum');
    c.allReduceSync(); // the next collective goes through
  });
});
