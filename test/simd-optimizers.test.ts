/**
 * The optimizers' WebAssembly SIMD kernels against the reference loops
 * (float32 at every operation, as tfjs-core; tested against tfjs-core in
 * optimizers.test.ts): the same parameters and state bit for bit, over
 * lengths that are and are not multiples of 4, gradients across magnitudes,
 * zeros and subnormals, and a learning rate and scale that change every
 * step. And the committed module is exactly what kernels.wat assembles to.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trainSchema } from '../src/spec/job-spec.js';
import { makeOptimizer, SlotOptimizer } from '../src/tensor/optimizers/index.js';
import { KERNELS_WASM } from '../src/tensor/optimizers/simd/kernels-wasm.js';
import { Rng } from '../src/util/rng.js';
// @ts-expect-error: a plain JavaScript build script, without types
import { WATS, assemble, moduleSource } from '../scripts/gen-wasm.mjs';

const specs: Record<string, unknown>[] = [
  { name: 'sgd', lr: 0.1 },
  { name: 'momentum', lr: 0.05, momentum: 0.9 },
  { name: 'momentum', lr: 0.05, momentum: 0.8, nesterov: true },
  { name: 'adagrad', lr: 0.1, initialAccumulator: 0.05 },
  { name: 'rmsprop', lr: 0.01, decay: 0.9, momentum: 0.5 },
  { name: 'adam', lr: 0.01 },
  { name: 'adam', lr: 0.001, beta1: 0.5, beta2: 0.9, epsilon: 1e-3 },
];

/** Indices where two arrays differ as bits (so -0 ≠ 0, and NaN payloads count). */
function bitDiffs(a: Float32Array, b: Float32Array): number[] {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) out.push(i);
  return out;
}

describe('SIMD optimizer kernels', () => {
  for (const raw of specs) {
    for (const n of [1, 7, 1000, 4099]) {
      it(`${JSON.stringify(raw)}, ${n} values: 30 steps equal the reference bit for bit`, () => {
        const spec = trainSchema.parse({ optimizer: raw }).optimizer;
        const rng = new Rng(n);
        const init = Float32Array.from({ length: n }, () => rng.normal());
        const [pSimd, pJs] = [init.slice(), init.slice()];
        const simd = makeOptimizer(spec, n, 'simd') as SlotOptimizer;
        const js = makeOptimizer(spec, n, 'js') as SlotOptimizer;
        expect([simd.kernels, js.kernels]).toEqual(['simd', 'js']);
        for (let step = 0; step < 30; step++) {
          const g = Float32Array.from({ length: n }, (_, i) => (i % 17 === 16 ? 0 : i % 23 === 22 ? 1e-40 * rng.normal() : rng.normal() * 10 ** -(i % 7)));
          const lr = spec.lr * (1 - step / 60);
          const scale = 1 / (32 + step);
          simd.step(pSimd, g, lr, scale);
          js.step(pJs, g, lr, scale);
        }
        expect(bitDiffs(pSimd, pJs)).toEqual([]);
        const [a, b] = [simd.stateDict(), js.stateDict()];
        expect({ ...a, slots: undefined }).toEqual({ ...b, slots: undefined });
        for (const k of Object.keys(b.slots)) expect(bitDiffs(a.slots[k], b.slots[k]), k).toEqual([]);
        // The comparison can fail: the parameters moved, and one more SIMD step makes them differ.
        expect(bitDiffs(pSimd, init).length).toBeGreaterThan(n / 2);
        simd.step(pSimd, Float32Array.from({ length: n }, () => 1), spec.lr);
        expect(bitDiffs(pSimd, pJs).length).toBeGreaterThan(0);
      });
    }
  }

  for (const raw of specs.filter((r) => r.name !== 'sgd')) {
    it(`${JSON.stringify(raw)}: slots in the subnormals (gradients that stay zero) take the exact path and still equal the reference`, () => {
      const spec = trainSchema.parse({ optimizer: raw }).optimizer;
      const n = 1001;
      const rng = new Rng(5);
      const js = makeOptimizer(spec, n, 'js') as SlotOptimizer;
      const state = js.stateDict();
      // Every slot value: a subnormal, the smallest one, a value just above 2^-50, or an ordinary one.
      const pick = (i: number) => [1e-40 * (1 + (i % 7)), 2 ** -149, 2 ** -49, 0.01 * rng.normal() ** 2][i % 4];
      for (const k of Object.keys(state.slots)) state.slots[k] = Float32Array.from({ length: n }, (_, i) => (k === 'accum' && spec.name === 'adagrad' ? 0.1 : pick(i + k.length)));
      js.loadStateDict(state);
      const simd = makeOptimizer(spec, n, 'simd') as SlotOptimizer;
      simd.loadStateDict(state);
      const p = Float32Array.from({ length: n }, () => rng.normal());
      const [pSimd, pJs] = [p.slice(), p.slice()];
      for (let step = 0; step < 200; step++) {
        // Most gradients zero, the rest spanning tiny to ordinary.
        const g = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? rng.normal() * 10 ** -(i % 50) : 0));
        simd.step(pSimd, g, spec.lr, 1 / 64);
        js.step(pJs, g, spec.lr, 1 / 64);
      }
      expect(bitDiffs(pSimd, pJs)).toEqual([]);
      const [a, b] = [simd.stateDict(), js.stateDict()];
      for (const k of Object.keys(b.slots)) {
        expect(bitDiffs(a.slots[k], b.slots[k]), k).toEqual([]);
        // The exact path was taken: subnormal values are still there.
        if (spec.name !== 'adagrad') expect(Array.from(b.slots[k]).some((x) => x !== 0 && Math.abs(x) < 2 ** -126), k).toBe(true);
      }
    });
  }

  it('a state saved by one kind of kernels resumes in the other, and they stay equal', () => {
    const spec = trainSchema.parse({ optimizer: { name: 'adam', lr: 0.01 } }).optimizer;
    const n = 513;
    const rng = new Rng(9);
    const p = Float32Array.from({ length: n }, () => rng.normal());
    const grads = Array.from({ length: 10 }, () => Float32Array.from({ length: n }, () => rng.normal()));
    const first = makeOptimizer(spec, n, 'js');
    for (const g of grads.slice(0, 5)) first.step(p, g, spec.lr);
    const [pSimd, pJs] = [p.slice(), p.slice()];
    const simd = makeOptimizer(spec, n, 'simd');
    simd.loadStateDict(first.stateDict());
    for (const g of grads.slice(5)) {
      simd.step(pSimd, g, spec.lr);
      first.step(pJs, g, spec.lr);
    }
    expect(bitDiffs(pSimd, pJs)).toEqual([]);
  });

  it('refuses buffers of another length', () => {
    const spec = trainSchema.parse({ optimizer: { name: 'sgd', lr: 0.1 } }).optimizer;
    expect(() => makeOptimizer(spec, 8, 'simd').step(new Float32Array(9), new Float32Array(9), 0.1)).toThrow(/8 values given 9 parameters/);
  });

  it('the committed module is what kernels.wat assembles to (npm run gen:wasm)', async () => {
    for (const w of WATS as { wat: string; ts: string; name: string }[]) {
      const bytes = (await assemble(w.wat)) as Buffer;
      expect(readFileSync(w.ts, 'utf8'), `${w.ts} is stale: npm run gen:wasm`).toBe(moduleSource(w, bytes));
    }
    expect(Buffer.from(KERNELS_WASM, 'base64').subarray(0, 4).toString('latin1')).toBe('\0asm');
  });
});
