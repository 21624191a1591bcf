/**
 * The conformance suite every GradientReducer passes, given a factory that
 * builds N connected reducers:
 *  - allReduce sums exactly what float64 says;
 *  - update gives every worker the parameters of one optimizer step on the
 *    mean of all workers' gradients, clipped by its global norm, as a direct
 *    computation on one buffer does;
 *  - refresh returns those same parameters.
 */
import { describe, expect, it } from 'vitest';
import type { OptimizerSpec } from '../../src/spec/job-spec.js';
import { makeOptimizer } from '../../src/tensor/optimizers/index.js';
import type { GradientReducer, UpdateRule } from '../../src/worker/reducers/reducer.js';
import { relativeDiff } from '../helpers/reference.js';

export interface FactoryOptions {
  chunkBytes: number;
  rule: UpdateRule;
  /** The job's initial parameters (a parameter server needs them up front). */
  initial: Float32Array;
}
export type ReducerFactory = (n: number, o: FactoryOptions) => Promise<{ reducers: GradientReducer[]; close(): Promise<void> | void }>;

/** Worker w's value at element i: small integers, so float32 sums are exact whatever the order. */
const value = (w: number, i: number, round: number) => ((i * 7 + w * 13 + round * 5) % 17) - 8;
const SUM_ONLY: FactoryOptions = { chunkBytes: 4096, rule: { optimizer: { name: 'sgd', lr: 0.1 } }, initial: new Float32Array(10) };

async function check(factory: ReducerFactory, n: number, len: number, chunkBytes: number, rounds = 1) {
  const { reducers, close } = await factory(n, { ...SUM_ONLY, chunkBytes });
  try {
    for (let round = 0; round < rounds; round++) {
      const bufs = reducers.map((_, w) => Float32Array.from({ length: len }, (_, i) => value(w, i, round)));
      await Promise.all(reducers.map((r, w) => r.allReduce(bufs[w])));
      const expected = Float64Array.from({ length: len }, (_, i) => {
        let s = 0;
        for (let w = 0; w < n; w++) s += value(w, i, round);
        return s;
      });
      for (const b of bufs) expect(Array.from(b)).toEqual(Array.from(expected));
    }
  } finally {
    await close();
  }
}

/** Rounds of updates through the reducers against the same optimizer run on one buffer, with the clipping computed in float64. */
async function checkUpdate(factory: ReducerFactory, n: number, optimizer: OptimizerSpec, clipNorm?: number) {
  const len = 1001;
  const globalBatch = 7 * n;
  const initial = Float32Array.from({ length: len }, (_, i) => Math.sin(i));
  const { reducers, close } = await factory(n, { chunkBytes: 1024, rule: { optimizer, clipNorm }, initial });
  const expected = initial.slice();
  const direct = makeOptimizer(optimizer, len);
  const params = reducers.map(() => initial.slice());
  try {
    for (let round = 0; round < 4; round++) {
      const lr = optimizer.lr / (round + 1);
      const grads = reducers.map((_, w) => Float32Array.from({ length: len }, (_, i) => value(w, i, round)));
      await Promise.all(reducers.map((r, w) => r.update(grads[w], params[w], { step: round, lr, globalBatch })));
      const sum = Float32Array.from({ length: len }, (_, i) => grads.reduce((s, _g, w) => s + value(w, i, round), 0));
      let sq = 0;
      for (const g of sum) sq += (g / globalBatch) ** 2;
      const clip = clipNorm !== undefined && Math.sqrt(sq) > clipNorm ? clipNorm / Math.sqrt(sq) : 1;
      direct.step(expected, sum, lr, clip / globalBatch);
      for (const p of params) expect(Array.from(p)).toEqual(Array.from(params[0]));
      expect(relativeDiff(params[0], expected)).toBeLessThanOrEqual(1e-6);
      expect(relativeDiff(params[0], initial)).toBeGreaterThan(1e-3); // the update did something
    }
    // In a synchronous update every worker is already current: refresh keeps what update gave.
    const before = params[0].slice();
    await Promise.all(reducers.map((r, w) => r.refresh(params[w])));
    for (const p of params) expect(Array.from(p)).toEqual(Array.from(before));
  } finally {
    await close();
  }
}

export function reducerConformance(name: string, factory: ReducerFactory, sizes = [1, 2, 3, 4]) {
  describe(`${name}: GradientReducer conformance`, () => {
    for (const n of sizes) {
      it(`sums across ${n} workers (length not divisible by n, several chunks)`, () => check(factory, n, 10_007, 4096));
      it(`sums a buffer shorter than the worker count (${n})`, () => check(factory, n, Math.max(1, n - 1), 4096));
      it(`sums an empty buffer (${n})`, () => check(factory, n, 0, 4096));
      it(`stays in step over repeated all-reduces on the same buffers (${n})`, () => check(factory, n, 3001, 4096, 5));
    }
    it('sums a large buffer in one chunk per segment', () => check(factory, 3, 1 << 18, 16 * 1024 * 1024));
    const updates: [string, OptimizerSpec, number | undefined][] = [
      ['sgd', { name: 'sgd', lr: 0.05 }, undefined],
      ['momentum', { name: 'momentum', lr: 0.05, momentum: 0.9, nesterov: false }, undefined],
      ['adam + clipNorm', { name: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, 2],
      ['rmsprop + clipNorm that does not bind', { name: 'rmsprop', lr: 0.01, decay: 0.9, momentum: 0, epsilon: 1e-7 }, 1e6],
    ];
    for (const [label, optimizer, clipNorm] of updates) {
      for (const n of [1, 3]) {
        it(`update with ${label} on ${n} worker(s) equals one optimizer step on the mean gradient`, () => checkUpdate(factory, n, optimizer, clipNorm));
      }
    }
  });
}
