/** dtrain's flat optimizers against tfjs-core's own, on the same gradients. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OptimizerSpec } from '../src/spec/job-spec.js';
import { trainSchema } from '../src/spec/job-spec.js';
import { optimizerSchema } from '../src/spec/parts.js';
import { makeOptimizer, optimizerRegistry } from '../src/tensor/optimizers/index.js';
import { Rng } from '../src/util/rng.js';
import { clipFactor, l2norm, lrAt } from '../src/tensor/schedule.js';
import { relativeDiff } from './helpers/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const specs: Record<string, unknown>[] = [
  { name: 'sgd', lr: 0.1 },
  { name: 'momentum', lr: 0.05, momentum: 0.9 },
  { name: 'momentum', lr: 0.05, momentum: 0.8, nesterov: true },
  { name: 'adagrad', lr: 0.1 },
  { name: 'rmsprop', lr: 0.01, decay: 0.9, momentum: 0.5 },
  { name: 'adam', lr: 0.01 },
];

function tfOptimizer(o: OptimizerSpec): tf.Optimizer {
  switch (o.name) {
    case 'sgd':
      return tf.train.sgd(o.lr);
    case 'momentum':
      return tf.train.momentum(o.lr, o.momentum, o.nesterov);
    case 'adagrad':
      return tf.train.adagrad(o.lr, o.initialAccumulator);
    case 'rmsprop':
      return tf.train.rmsprop(o.lr, o.decay, o.momentum, o.epsilon);
    case 'adam':
      return tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon);
  }
}

describe('flat optimizers follow tfjs-core', () => {
  for (const raw of specs) {
    it(`${JSON.stringify(raw)}: 40 steps within 1e-6 relative`, () => {
      const spec = trainSchema.parse({ optimizer: raw }).optimizer;
      const n = 1000;
      const rng = new Rng(3);
      const init = Float32Array.from({ length: n }, () => rng.normal());
      const flat = init.slice();
      const opt = makeOptimizer(spec, n);
      const v = tf.variable(tf.tensor1d(init));
      const ref = tfOptimizer(spec);
      for (let step = 0; step < 40; step++) {
        // Gradients spanning magnitudes, some exactly zero.
        const g = Float32Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 0 : rng.normal() * 10 ** -(i % 5)));
        opt.step(flat, g, spec.lr);
        ref.applyGradients({ [v.name]: tf.tensor1d(g) });
      }
      const diff = relativeDiff(flat, v.dataSync() as Float32Array);
      expect(diff).toBeLessThanOrEqual(1e-6);
      // and the optimizer did move the parameters
      expect(relativeDiff(flat, init)).toBeGreaterThan(1e-3);
    });
  }

  it('a gradient scale applied in the step equals stepping on pre-scaled gradients, bit for bit', () => {
    for (const raw of specs) {
      const spec = trainSchema.parse({ optimizer: raw }).optimizer;
      const rng = new Rng(8);
      const g = Float32Array.from({ length: 300 }, () => rng.normal() * 50);
      const scale = 1 / 77;
      const a = makeOptimizer(spec, 300);
      const b = makeOptimizer(spec, 300);
      const pa = new Float32Array(300).fill(0.5);
      const pb = pa.slice();
      for (let k = 0; k < 3; k++) {
        a.step(pa, g, spec.lr, scale);
        b.step(pb, g.map((v) => v * scale), spec.lr);
      }
      expect(Array.from(pa), JSON.stringify(raw)).toEqual(Array.from(pb));
    }
  });

  it('the registry knows every name the optimizer schema accepts, and each class states its own name', () => {
    const schemaNames = optimizerSchema.options.map((o) => o.shape.name.value);
    expect(Object.keys(optimizerRegistry).sort()).toEqual([...schemaNames].sort());
    for (const name of schemaNames) {
      const spec = optimizerSchema.parse({ name, lr: 0.1 });
      expect(makeOptimizer(spec, 4).stateDict().name).toBe(name);
    }
    const bogus = { name: 'lbfgs', lr: 0.1 } as unknown as OptimizerSpec;
    expect(() => makeOptimizer(bogus, 4)).toThrow(/unknown optimizer "lbfgs"/);
  });

  it('state dict round-trips: a restored optimizer continues identically', () => {
    const spec = trainSchema.parse({ optimizer: { name: 'adam', lr: 0.01 } }).optimizer;
    const a = makeOptimizer(spec, 10);
    const p = new Float32Array(10).fill(1);
    const g = Float32Array.from({ length: 10 }, (_, i) => i - 5);
    for (let i = 0; i < 5; i++) a.step(p, g, 0.01);
    const b = makeOptimizer(spec, 10);
    b.loadStateDict(a.stateDict());
    const pa = p.slice();
    const pb = p.slice();
    a.step(pa, g, 0.01);
    b.step(pb, g, 0.01);
    expect(Array.from(pb)).toEqual(Array.from(pa));
  });
});

describe('schedules and clipping', () => {
  it('learning-rate decays', () => {
    expect(lrAt(1, { kind: 'none' }, 50, 100)).toBe(1);
    expect(lrAt(1, { kind: 'exponential', rate: 0.5, every: 10 }, 20, 100)).toBeCloseTo(0.25);
    expect(lrAt(1, { kind: 'step', rate: 0.5, every: 10 }, 19, 100)).toBeCloseTo(0.5);
    expect(lrAt(1, { kind: 'inverse-time', rate: 1 }, 3, 100)).toBeCloseTo(0.25);
    expect(lrAt(1, { kind: 'cosine', floor: 0.1 }, 0, 101)).toBeCloseTo(1);
    expect(lrAt(1, { kind: 'cosine', floor: 0.1 }, 50, 101)).toBeCloseTo(0.55);
    expect(lrAt(1, { kind: 'cosine', floor: 0.1 }, 100, 101)).toBeCloseTo(0.1);
  });

  it('clips by global norm, and leaves small gradients alone', () => {
    expect(l2norm(new Float32Array([3, 4]))).toBeCloseTo(5);
    expect(clipFactor(5, 1)).toBeCloseTo(0.2);
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(5, undefined)).toBe(1);
  });
});
