/**
 * Summing gradients during the backward pass (src/worker/overlap.ts): the
 * hooks write each variable's gradient as the backward pass produces it,
 * equal to what tf.variableGrads returns; buckets of whole variables cover
 * the buffer and start from its end, some before the pass is over; a model
 * that reads a variable twice starts none early. Then real runs with
 * cluster.overlap equal one process.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/jobs/registry.js';
import { layoutOf, packTensors } from '../src/tensor/flat.js';
import { GradientOverlap } from '../src/worker/overlap.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST } from './helpers/cli.js';
import { dtrainRun, equivalenceRuns, TOLERANCE } from './helpers/dtrain-run.js';
import { flatWeights, referenceTrain, relativeDiff } from './helpers/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const model = () =>
  tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [12], units: 40, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.dense({ units: 30, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      tfl.layers.dense({ units: 5, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });

describe('GradientOverlap', () => {
  it('writes the gradients variableGrads returns, and starts buckets from the end of the buffer, some during the pass', () => {
    const m = model();
    const layout = layoutOf(m);
    const grads = new Float32Array(layout.total);
    const started: { offset: number; length: number; duringPass: boolean }[] = [];
    let inPass = false;
    const overlap = new GradientOverlap(m, layout, grads, (offset, length) => started.push({ offset, length, duringPass: inPass }), 1024);
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = tf.randomNormal([8, 12], 0, 1, 'float32', 4);
    const pass = () => tf.variableGrads(() => tf.sum(tf.square(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars);
    const { result, hooked } = overlap.run(() => {
      inPass = true;
      try {
        return pass();
      } finally {
        inPass = false;
      }
    });
    expect(hooked.every(Boolean)).toBe(true);
    overlap.startRest();
    const expected = new Float32Array(layout.total);
    packTensors(vars.map((v) => result.grads[v.name]), layout, expected);
    expect(Array.from(grads)).toEqual(Array.from(expected));
    // The buckets tile the buffer from its end to its start, each whole variables.
    let end = layout.total;
    for (const s of started) {
      expect(s.offset + s.length).toBe(end);
      expect(layout.entries.some((e) => e.offset === s.offset)).toBe(true);
      end = s.offset;
    }
    expect(end).toBe(0);
    expect(started.length).toBe(overlap.buckets.length);
    expect(started.filter((s) => s.duringPass).length).toBeGreaterThan(0);
    // The comparison can fail: the first layer's kernel, the largest, comes last in the backward pass.
    expect(started.at(-1)!.duringPass).toBe(started.length > 1 ? true : false);
    // And the weights are read as before once the pass is over.
    expect(Object.hasOwn(m.trainableWeights[0], 'read')).toBe(false);
  });

  it('a model that reads a variable twice in a pass starts nothing early, and startRest then starts every bucket in order', () => {
    const m = model();
    const layout = layoutOf(m);
    const grads = new Float32Array(layout.total);
    const started: { offset: number; duringPass: boolean }[] = [];
    let inPass = false;
    const overlap = new GradientOverlap(m, layout, grads, (offset) => started.push({ offset, duringPass: inPass }), 1024);
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const [a, b] = [tf.randomNormal([8, 12], 0, 1, 'float32', 5), tf.randomNormal([8, 12], 0, 1, 'float32', 6)];
    const { hooked } = overlap.run(() => {
      inPass = true;
      try {
        return tf.variableGrads(() => tf.add(tf.sum(m.apply(a) as tf.Tensor), tf.sum(m.apply(b) as tf.Tensor)) as tf.Scalar, vars);
      } finally {
        inPass = false;
      }
    });
    expect(hooked.some(Boolean)).toBe(false);
    expect(started).toEqual([]);
    overlap.startRest();
    expect(started.map((s) => s.offset)).toEqual(overlap.buckets.map((b) => b.offset));
    expect(started.every((s) => !s.duringPass)).toBe(true);
  });
});

describe('cluster.overlap: N workers still equal one process', () => {
  const tmp = equivalenceRuns();
  const job = {
    name: 'overlap',
    seed: 11,
    data: { source: 'synthetic', kind: 'blobs', samples: 620, features: 6, classes: 3, noise: 1.5 },
    model: { zoo: 'mlp', hidden: [32, 16], activation: 'relu', dropout: 0.2 },
    train: { maxSteps: 24, epochs: 3, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 0.3 },
    // Buckets of 4 KiB: the 32 × 16 layer and the rest, and the first layer's kernel after the pass.
    cluster: { backend: 'wasm', chunkBytes: 4096, overlap: true, overlapBytes: 4096, transport: 'tcp' },
  };
  for (const workers of [2, 3]) {
    it(`${workers} workers, Adam, clipping and dropout: within ${TOLERANCE}, and 2 workers bit for bit the run without overlap`, async () => {
      const reference = flatWeights(await referenceTrain(parseJobSpec(job, 'overlap job')));
      const got = await dtrainRun(tmp.dir, job, ['--workers', String(workers)], `overlap-${workers}`);
      expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
      // The comparison can fail: these workers did sum during the pass (the log says so; the syncbn job below does not).
      expect(readFileSync(join(tmp.dir, `overlap-${workers}`, 'log.jsonl'), 'utf8')).toMatch(/gradient sums start during the backward pass/);
      if (workers === 2) {
        const plain = await dtrainRun(tmp.dir, { ...job, cluster: { ...job.cluster, overlap: false } }, ['--workers', '2'], 'plain-2');
        expect(Array.from(got)).toEqual(Array.from(plain));
      }
    });
  }
});

describe.skipIf(!existsSync(FASHION_MNIST))('cluster.overlap with synchronized batch-norm', () => {
  const tmp = equivalenceRuns();
  it('is left off (the blocking sums inside the backward pass would interleave otherwise on a worker with no samples): 3 workers, one with an empty shard at each epoch end, equal one process', async () => {
    // As test/syncbn-equivalence.test.ts: 96 samples in batches of 47, so each epoch ends with 2 samples for 3 workers.
    const job = {
      name: 'overlap-syncbn',
      seed: 3,
      data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 96, testLimit: 200 },
      model: { zoo: 'cnn', conv: [4, 8], kernelSize: 3, dense: [], batchNorm: 'sync' },
      train: { maxSteps: 21, epochs: 3, batchSize: 47, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 2 },
      cluster: { backend: 'wasm', overlap: true, overlapBytes: 4096, transport: 'tcp' },
    };
    const reference = flatWeights(await referenceTrain(parseJobSpec(job, 'overlap syncbn job'), { standardLayers: true }));
    const got = await dtrainRun(tmp.dir, job, ['--workers', '3'], 'overlap-syncbn-3');
    expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
    expect(readFileSync(join(tmp.dir, 'overlap-syncbn-3', 'log.jsonl'), 'utf8')).not.toMatch(/gradient sums start during the backward pass/);
  });
});
