/**
 * The parameter-server strategy in-process: shards and worker reducers over
 * memory and over real ZeroMQ sockets pass the reducer conformance suite;
 * bounded staleness applies each gradient as it arrives; bad requests are
 * answered with an error, not a hang; the coordinator's step gate keeps the
 * staleness bound.
 */
import { describe, expect, it } from 'vitest';
import { StepGate } from '../src/coordinator/step-gate.js';
import { makeOptimizer } from '../src/tensor/optimizers/index.js';
import { encode } from '../src/wire/codec.js';
import { parseMessage } from '../src/wire/messages.js';
import { memoryHub } from '../src/wire/memory-transport.js';
import type { Channel, Hub } from '../src/wire/transport.js';
import { bindRouter, connectDealer } from '../src/wire/zmq-transport.js';
import { PsShard } from '../src/ps/shard.js';
import { PsReducer } from '../src/worker/reducers/ps.js';
import type { UpdateRule } from '../src/worker/reducers/reducer.js';
import { reducerConformance, type FactoryOptions } from './conformance/reducer-suite.js';

interface Net {
  listen(): Promise<{ hub: Hub; connect(id: string): Channel }>;
}
const memoryNet: Net = { listen: async () => memoryHub() };
const zmqNet: Net = {
  listen: async () => {
    const hub = await bindRouter('tcp://127.0.0.1:*');
    return { hub, connect: (id: string) => connectDealer(hub.endpoint, id) };
  },
};

/** K shards over `net` holding `initial`, and N worker reducers connected to all of them. */
async function psCluster(net: Net, k: number, n: number, o: { rule: UpdateRule; initial: Float32Array; staleness?: number }) {
  const len = o.initial.length;
  const shards: PsShard[] = [];
  const served: Promise<void>[] = [];
  const links: { connect(id: string): Channel; offset: number; length: number }[] = [];
  for (let i = 0; i < k; i++) {
    const offset = Math.floor((i * len) / k);
    const length = Math.floor(((i + 1) * len) / k) - offset;
    const { hub, connect } = await net.listen();
    const shard = new PsShard(hub, { index: i, workers: n, optimizer: o.rule.optimizer, clipNorm: o.rule.clipNorm, staleness: o.staleness, initial: o.initial.subarray(offset, offset + length) });
    shards.push(shard);
    served.push(shard.serve());
    links.push({ connect, offset, length });
  }
  const reducers = Array.from(
    { length: n },
    (_, rank) => new PsReducer({ rank, shards: links.map((l) => ({ channel: l.connect(`w${rank}`), offset: l.offset, length: l.length })), clipNorm: o.rule.clipNorm, staleness: o.staleness }),
  );
  const close = async () => {
    reducers.forEach((r) => r.close());
    shards.forEach((s) => s.close());
    await Promise.all(served);
  };
  return { shards, reducers, close };
}

const factory = (net: Net, k: number) => (n: number, o: FactoryOptions) => psCluster(net, k, n, o);
reducerConformance('ps over memory, 1 shard', factory(memoryNet, 1));
reducerConformance('ps over memory, 3 shards', factory(memoryNet, 3));
reducerConformance('ps over zeromq, 2 shards', factory(zmqNet, 2), [1, 3]);

describe('ps bounded staleness', () => {
  it('applies each worker gradient as it arrives, and refresh returns the latest parameters', async () => {
    const len = 50;
    const initial = Float32Array.from({ length: len }, (_, i) => i / len);
    const rule: UpdateRule = { optimizer: { name: 'momentum', lr: 0.1, momentum: 0.9, nesterov: false }, clipNorm: 0.5 };
    const { reducers, close } = await psCluster(memoryNet, 2, 3, { rule, initial, staleness: 2 });
    const direct = makeOptimizer(rule.optimizer, len);
    const expected = initial.slice();
    try {
      // Worker pushes in an uneven order, each awaited: 0, 2, 2, 1, 0.
      for (const [turn, w] of [0, 2, 2, 1, 0].entries()) {
        const grads = Float32Array.from({ length: len }, (_, i) => Math.cos(i + turn) * (w + 1));
        const globalBatch = 12;
        let sq = 0;
        for (const g of grads) sq += (g / globalBatch) ** 2;
        const clip = Math.sqrt(sq) > 0.5 ? 0.5 / Math.sqrt(sq) : 1;
        direct.step(expected, grads, 0.1, clip / globalBatch);
        const mine = new Float32Array(len);
        await reducers[w].update(grads.slice(), mine, { step: turn, lr: 0.1, globalBatch });
        expect(Array.from(mine)).toEqual(Array.from(expected));
      }
      const fresh = new Float32Array(len);
      await reducers[1].refresh(fresh);
      expect(Array.from(fresh)).toEqual(Array.from(expected));
    } finally {
      await close();
    }
  });
});

describe('ps shard under bad requests', () => {
  const rule: UpdateRule = { optimizer: { name: 'sgd', lr: 0.1 } };

  it('answers workers that disagree on the learning rate with an error naming it, and stays usable', async () => {
    const { reducers, close } = await psCluster(memoryNet, 1, 2, { rule, initial: new Float32Array(8) });
    try {
      // Both workers hear of it: the one whose request spoiled the round, and the one already waiting in it.
      const results = await Promise.allSettled(reducers.map((r, w) => r.update(new Float32Array(8).fill(1), new Float32Array(8), { step: 0, lr: w === 0 ? 0.1 : 0.2, globalBatch: 4 })));
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(String((r as PromiseRejectedResult).reason)).toMatch(/ps shard #0: op 0: worker 1 disagrees on the learning rate/);
      }
      const sums = [Float32Array.from([1, 2]), Float32Array.from([10, 20])];
      await Promise.all(reducers.map((r, w) => r.allReduce(sums[w])));
      expect(Array.from(sums[0])).toEqual([11, 22]);
    } finally {
      await close();
    }
  });

  it('drops malformed messages, rejects a rank outside the job, and keeps serving', async () => {
    const { hub, connect } = memoryHub();
    const drops: string[] = [];
    const shard = new PsShard(hub, { index: 0, workers: 1, optimizer: rule.optimizer, initial: new Float32Array(4) }, (r) => drops.push(r));
    const served = shard.serve();
    const raw = connect('raw');
    try {
      await raw.send([new Uint8Array([0x85, 0xa1])]);
      await raw.send(encode({ type: 'psPull', op: 0, rank: 5 }));
      const reply = parseMessage(await raw.receive());
      expect(reply.header).toMatchObject({ type: 'psError', message: expect.stringMatching(/rank 5 is not one of the job's 1 workers/) });
      const reducer = new PsReducer({ rank: 0, shards: [{ channel: connect('w0'), offset: 0, length: 4 }] });
      const params = new Float32Array(4);
      await reducer.update(Float32Array.from([1, 2, 3, 4]), params, { step: 0, lr: 0.1, globalBatch: 2 });
      expect(Array.from(params)).toEqual([-0.05, -0.1, -0.15, -0.2].map(Math.fround));
      expect(drops.length).toBe(2);
      expect(drops[0]).toMatch(/not msgpack/);
      expect(shard.applied).toBe(1);
    } finally {
      raw.close();
      shard.close();
      await served;
    }
  });
});

describe('step gate', () => {
  /** Simulates workers of different speeds; returns the largest lead any worker had when starting a step. */
  function simulate(workers: number, total: number, ahead: number, speeds: number[]) {
    const gate = new StepGate(workers, total, ahead);
    const queue: [number, number][] = [];
    const done = new Array<number>(workers).fill(0);
    let maxLead = 0;
    const release = () => {
      for (const [w, t] of gate.release()) {
        maxLead = Math.max(maxLead, t - Math.min(...done));
        queue.push([w, t]);
      }
    };
    release();
    const completed: number[] = [];
    let clock = 0;
    while (queue.length > 0) {
      clock++;
      // Each tick, a worker finishes its oldest queued step if its speed allows this tick.
      const i = queue.findIndex(([w]) => clock % speeds[w] === 0);
      if (i < 0) continue;
      const [w, t] = queue.splice(i, 1)[0];
      done[w]++;
      completed.push(...gate.finish(w, t));
      release();
    }
    return { completed, maxLead, done };
  }

  it('keeps every worker within s steps of the slowest, and finishes every step in order', () => {
    for (const s of [0, 1, 2, 5]) {
      const r = simulate(3, 40, s, [1, 2, 7]);
      expect(r.completed).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(r.done).toEqual([40, 40, 40]);
      expect(r.maxLead).toBeLessThanOrEqual(s);
      // The fast worker does use its allowance: the bound is reached, not just respected.
      expect(r.maxLead).toBe(s);
    }
  });

  it('refuses a report out of order', () => {
    const gate = new StepGate(2, 5, 1);
    gate.release();
    expect(() => gate.finish(0, 1)).toThrow(/reported step 1, expected 0/);
    expect(() => gate.finish(1, 0)).not.toThrow();
    expect(() => gate.finish(1, 1)).not.toThrow();
    expect(() => gate.finish(1, 2)).toThrow(/before it was sent/);
  });
});
