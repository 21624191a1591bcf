/**
 * The GAN step program against a plain single-process implementation of
 * Goodfellow et al.'s Algorithm 1 (tfjs optimizers, tfjs's mean sigmoid
 * cross-entropy). N workers run in this process, their gradient sums
 * exchanged through a shared in-memory sum.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadData } from '../src/data/load.js';
import { readAllParams } from '../src/tensor/flat.js';
import { ganPlan, phaseOf, realSchedule, stepLr } from '../src/jobs/gan/plan.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import type { GanJob } from '../src/jobs/gan/spec.js';
import { buildGan } from '../src/jobs/gan/zoo.js';
import { shardBounds } from '../src/data/sharding.js';
import { GanProgram } from '../src/jobs/gan/program.js';
import { TOLERANCE } from './helpers/dtrain-run.js';
import { ganReference as reference } from './helpers/gan-reference.js';
import { flatWeights, relativeDiff } from './helpers/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const job = (dSteps: number, loss = 'nonsaturating') =>
  parseJobSpec(
    {
      name: 'gan',
      type: 'gan',
      seed: 7,
      data: { source: 'synthetic', kind: 'ring8', samples: 600 },
      generator: { zoo: 'mlp', hidden: [16, 16] },
      discriminator: { zoo: 'mlp', hidden: [16] },
      gan: { dSteps, latentDim: 4, loss, labelSmoothing: 0.1, generatorOptimizer: { name: 'adam', lr: 0.005, beta1: 0.5 }, discriminatorOptimizer: { name: 'momentum', lr: 0.05 } },
      train: { batchSize: 50, maxSteps: 10 },
    },
    'gan job',
  ) as GanJob;

/** N GanPrograms in this process; sumRange adds the N gradient ranges once all have arrived. */
async function distributed(spec: GanJob, n: number) {
  const data = loadData(spec.data, spec.seed);
  let waiting: { grads: Float32Array; offset: number; length: number; done: () => void }[] = [];
  const sumRange = (grads: Float32Array) => (offset: number, length: number) =>
    new Promise<void>((done) => {
      waiting.push({ grads, offset, length, done });
      if (waiting.length < n) return;
      const total = new Float32Array(length);
      for (const w of waiting) total.forEach((_, i) => (total[i] += w.grads[offset + i]));
      for (const w of waiting) w.grads.set(total, offset);
      const all = waiting;
      waiting = [];
      for (const w of all) w.done();
    });
  const programs = Array.from({ length: n }, () => {
    const models = buildGan(spec.generator, spec.discriminator, spec.gan.latentDim, data.train.featureShape, spec.seed);
    const params = readAllParams([models.generator, models.discriminator]);
    const grads = new Float32Array(params.length);
    return { p: new GanProgram({ spec, models, data, params, grads, sumRange: sumRange(grads), broadcastState: async (v) => v }), models };
  });
  const plan = ganPlan(data.train.size, spec.train.batchSize, spec.train.epochs, spec.gan.dSteps, spec.train.maxSteps);
  const real = realSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  for (let step = 0; step < plan.totalSteps; step++) {
    const at = phaseOf(plan, step);
    const batch = at.discriminator ? real.batch(at.realBatch) : new Int32Array(spec.train.batchSize);
    await Promise.all(
      programs.map(({ p }, r) => {
        const [a, b] = shardBounds(batch.length, r, n);
        return p.train({ step, epoch: 0, lr: stepLr(spec, plan, at), globalBatch: batch.length, indices: batch.slice(a, b), offset: a });
      }),
    );
  }
  const first = programs[0].models;
  return { g: flatWeights(first.generator), d: flatWeights(first.discriminator), all: programs.map(({ p }) => p.params()) };
}

describe('GAN steps equal single-process Algorithm 1', () => {
  for (const [k, loss] of [[1, 'nonsaturating'], [2, 'minimax']] as const) {
    for (const n of [1, 2, 3]) {
      it(`k = ${k} (${loss}), ${n} worker(s): both networks within ${TOLERANCE} after 10 iterations`, async () => {
        const spec = job(k, loss);
        const ref = await reference(spec);
        const got = await distributed(spec, n);
        expect(relativeDiff(got.g, ref.g)).toBeLessThanOrEqual(TOLERANCE);
        expect(relativeDiff(got.d, ref.d)).toBeLessThanOrEqual(TOLERANCE);
        for (const p of got.all) expect(Array.from(p)).toEqual(Array.from(got.all[0]));
      });
    }
  }

  it('the comparison can fail: without label smoothing the reference differs', async () => {
    const spec = job(1);
    const ref = await reference({ ...spec, gan: { ...spec.gan, labelSmoothing: 0 } } as GanJob);
    const got = await distributed(spec, 2);
    expect(relativeDiff(got.d, ref.d)).toBeGreaterThan(100 * TOLERANCE);
  });
});
