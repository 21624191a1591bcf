/**
 * The conformance suite every GradientReducer passes: given a factory that
 * builds N connected reducers, all-reduce sums exactly what float64 says.
 */
import { describe, expect, it } from 'vitest';
import type { GradientReducer } from '../../src/worker/reducers/reducer.js';

export type ReducerFactory = (n: number, chunkBytes: number) => Promise<{ reducers: GradientReducer[]; close(): Promise<void> | void }>;

/** Worker w's value at element i: small integers, so float32 sums are exact whatever the order. */
const value = (w: number, i: number, round: number) => ((i * 7 + w * 13 + round * 5) % 17) - 8;

async function check(factory: ReducerFactory, n: number, len: number, chunkBytes: number, rounds = 1) {
  const { reducers, close } = await factory(n, chunkBytes);
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

export function reducerConformance(name: string, factory: ReducerFactory, sizes = [1, 2, 3, 4]) {
  describe(`${name}: GradientReducer conformance`, () => {
    for (const n of sizes) {
      it(`sums across ${n} workers (length not divisible by n, several chunks)`, () => check(factory, n, 10_007, 4096));
      it(`sums a buffer shorter than the worker count (${n})`, () => check(factory, n, Math.max(1, n - 1), 4096));
      it(`sums an empty buffer (${n})`, () => check(factory, n, 0, 4096));
      it(`stays in step over repeated all-reduces on the same buffers (${n})`, () => check(factory, n, 3001, 4096, 5));
    }
    it('sums a large buffer in one chunk per segment', () => check(factory, 3, 1 << 18, 16 * 1024 * 1024));
  });
}
