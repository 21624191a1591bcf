/**
 * Strategy ps, synchronous: N workers and K shard processes (real `dtrain
 * run`, ZeroMQ) give the same parameters as single-process tfjs training on
 * the same global batches, and as the ring, for SGD (with LR decay),
 * momentum and Adam with clipNorm, which needs the shards to agree on the
 * global norm.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/shared/job-file.js';
import { killStarted, tempDir } from './helpers/cli.js';
import { dtrainRun } from './helpers/dtrain-run.js';
import { flatWeights, referenceTrain, relativeDiff } from './helpers/reference.js';

const TOLERANCE = 1e-5;
const tmp = tempDir();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const base = {
  seed: 21,
  data: { source: 'synthetic', kind: 'blobs', samples: 620, features: 6, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [32, 16], activation: 'relu', dropout: 0.2 },
  cluster: { backend: 'wasm' },
};
const trainings = {
  'sgd + lr decay': { maxSteps: 22, batchSize: 50, optimizer: { name: 'sgd', lr: 0.1 }, lrDecay: { kind: 'exponential', rate: 0.5, every: 20 } },
  momentum: { maxSteps: 22, batchSize: 50, optimizer: { name: 'momentum', lr: 0.05, momentum: 0.9 } },
  'adam + clipNorm': { maxSteps: 22, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 0.3 },
} as const;

for (const [name, train] of Object.entries(trainings)) {
  describe(`strategy ps, synchronous, ${name}: equals one process`, () => {
    const job = { name: 'ps-equiv', ...base, train };
    let reference: Float32Array;
    beforeAll(async () => {
      reference = flatWeights(await referenceTrain(parseJobSpec(job, 'ps equivalence job')));
    });
    for (const shards of [1, 3]) {
      for (const workers of [1, 2, 3]) {
        it(`${workers} worker(s), ${shards} shard(s): weights within ${TOLERANCE} relative`, async () => {
          const tag = `${name.replace(/\W+/g, '-')}-k${shards}-n${workers}`;
          const got = await dtrainRun(tmp.dir, job, ['--workers', String(workers), '--strategy', 'ps', '--ps-shards', String(shards)], tag);
          expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
        });
      }
    }
    if (name === 'adam + clipNorm') {
      it('equals the ring on the same job, and clipping is in force (the comparison can fail)', async () => {
        const ps = await dtrainRun(tmp.dir, job, ['--workers', '2', '--strategy', 'ps', '--ps-shards', '2'], 'vs-ring-ps');
        const ring = await dtrainRun(tmp.dir, job, ['--workers', '2'], 'vs-ring-ring');
        expect(relativeDiff(ps, ring)).toBeLessThanOrEqual(TOLERANCE);
        const noClip = flatWeights(await referenceTrain(parseJobSpec(job, 'ps equivalence job'), { noClip: true }));
        expect(relativeDiff(noClip, reference)).toBeGreaterThan(100 * TOLERANCE);
      });
    }
  });
}
