/**
 * Counting a job's weights without allocating them (src/tensor/models/weight-count.ts),
 * checked against the networks the workers really build (countParams), for
 * every job type and model kind; and a network too large to build is
 * counted in a moment without the memory.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobTypeOf, jobWeights, loadJobFile, parseJobSpec } from '../src/jobs/registry.js';
import { FASHION_MNIST } from './helpers/cli.js';
import { existsSync } from 'node:fs';

const blobs = { source: 'synthetic', kind: 'blobs', samples: 200, features: 6, classes: 4 };
const hasFashion = existsSync(FASHION_MNIST);

async function realCount(spec: ReturnType<typeof parseJobSpec>): Promise<number> {
  const w = await jobTypeOf(spec).buildWorker(spec);
  const n = w.models.reduce((a, m) => a + m.countParams(), 0);
  w.models.forEach((m) => m.dispose());
  return n;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('jobWeights', () => {
  const cases: [string, () => ReturnType<typeof parseJobSpec>][] = [
    ['mlp with dropout', () => parseJobSpec({ name: 'a', data: blobs, model: { zoo: 'mlp', hidden: [32, 16], dropout: 0.1 } }, 'a')],
    ['mlp with synchronized batch-norm', () => parseJobSpec({ name: 'b', data: blobs, model: { zoo: 'mlp', hidden: [8], batchNorm: 'sync' } }, 'b')],
    ['adversarial mlp', () => parseJobSpec({ name: 'c', type: 'adversarial', data: blobs, model: { zoo: 'mlp', hidden: [12] } }, 'c')],
    ['gan, mlp networks', () => loadJobFile('configs/gan-ring8.yaml')],
    ['custom topology', () => loadJobFile('configs/custom-topology.yaml')],
  ];
  for (const [what, make] of cases) {
    it(`${what}: the count equals the built networks' countParams`, async () => {
      const spec = make();
      const counted = await jobWeights(spec);
      expect(counted).toBeGreaterThan(0);
      expect(counted).toBe(await realCount(spec));
    });
  }

  it.skipIf(!hasFashion)('cnn with batch-norm, and a DCGAN (transposed convolutions), on Fashion-MNIST', async () => {
    for (const file of ['configs/fashion-mnist-cnn-syncbn.yaml', 'configs/gan-fashion-mnist-dcgan.yaml']) {
      const spec = loadJobFile(file);
      expect(await jobWeights(spec)).toBe(await realCount(spec));
    }
  });

  it('hidden: [30000, 30000] is counted (923 M) in a moment, allocating none of it, and real builds afterwards get real weights', async () => {
    const spec = parseJobSpec({ name: 'huge', data: { ...blobs, features: 784, classes: 10 }, model: { zoo: 'mlp', hidden: [30000, 30000] } }, 'huge');
    const bytesBefore = tf.memory().numBytes;
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const n = await jobWeights(spec);
    const ms = performance.now() - t0;
    expect(n).toBe(784 * 30000 + 30000 + 30000 * 30000 + 30000 + 30000 * 10 + 10);
    expect(ms).toBeLessThan(5000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    expect(tf.memory().numBytes).toBe(bytesBefore);
    // The hook is gone: a model built now has its initialised weights.
    const small = parseJobSpec({ name: 's', data: blobs, model: { zoo: 'mlp', hidden: [4] } }, 's');
    const w = await jobTypeOf(small).buildWorker(small);
    const kernel = w.models[0].getWeights()[0];
    expect(kernel.shape).toEqual([6, 4]);
    expect(Math.max(...(await tf.abs(kernel).data()))).toBeGreaterThan(0);
    w.models.forEach((m) => m.dispose());
  });
});
