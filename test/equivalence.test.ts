/**
 * The design's central claim: N workers on a global batch B give the same
 * parameters as one process on batch B. Real `dtrain run` processes over
 * ZeroMQ, training on wasm (the default), against a plain single-process
 * tfjs loop on the cpu backend (test/helpers/reference.ts).
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/jobs/registry.js';
import type { JobSpec } from '../src/spec/job-spec.js';
import { FASHION_MNIST } from './helpers/cli.js';
import { dtrainRun as run, equivalenceRuns, report, TOLERANCE } from './helpers/dtrain-run.js';
import { flatWeights, referenceTrain, relativeDiff } from './helpers/reference.js';

const tmp = equivalenceRuns();

const mlp = { zoo: 'mlp', hidden: [32, 16], activation: 'relu', dropout: 0.2 };
const dataSets = {
  synthetic: { source: 'synthetic', kind: 'blobs', samples: 620, features: 6, classes: 3, noise: 1.5 },
  'fashion-mnist 2000': { source: 'fashion-mnist', path: FASHION_MNIST, limit: 2000, testLimit: 500 },
} as const;
const trainings = {
  'sgd + dropout + lr decay': { maxSteps: 26, epochs: 3, batchSize: 50, optimizer: { name: 'sgd', lr: 0.1 }, lrDecay: { kind: 'exponential', rate: 0.5, every: 20 } },
  'adam + clipNorm + dropout': { maxSteps: 24, epochs: 3, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 0.3 },
} as const;

const dtrainRun = (job: Record<string, unknown>, workers: number, tag: string) => run(tmp.dir, job, ['--workers', String(workers)], tag);

for (const [dataName, data] of Object.entries(dataSets)) {
  const needsFiles = data.source === 'fashion-mnist' && !existsSync(FASHION_MNIST);
  describe.skipIf(needsFiles)(`N workers equal one process: MLP on ${dataName}`, () => {
    for (const [trainName, train] of Object.entries(trainings)) {
      describe(trainName, () => {
        const job = { name: 'equiv', seed: 11, data, model: mlp, train, cluster: { backend: 'wasm', chunkBytes: 4096 } };
        const spec: JobSpec = parseJobSpec(job, 'equivalence job');
        let reference: Float32Array;
        beforeAll(async () => {
          reference = flatWeights(await referenceTrain(spec));
        });

        for (const workers of [1, 2, 3]) {
          it(`${workers} worker(s): weights within ${TOLERANCE} relative`, async () => {
            const got = await dtrainRun(job, workers, `${dataName.replace(/\W+/g, '-')}-${trainName.replace(/\W+/g, '-')}-${workers}`);
            const diff = relativeDiff(got, reference);
            expect(diff).toBeLessThanOrEqual(TOLERANCE);
          });
        }

        if (dataName !== 'synthetic') {
          it(`2 workers on webgpu (software rendering here): within ${TOLERANCE} of one cpu process, as on wasm`, async () => {
            const got = await dtrainRun({ ...job, cluster: { ...job.cluster, backend: 'webgpu' } }, 2, `webgpu-${trainName.replace(/\W+/g, '-')}`);
            const diff = relativeDiff(got, reference);
            report(`webgpu MLP, ${trainName}, 2 workers vs one cpu process`, diff);
            expect(diff).toBeLessThanOrEqual(TOLERANCE);
          });
        }

        if (dataName === 'synthetic') {
          it('2 workers on the cpu backend: within the same tolerance', async () => {
            const got = await dtrainRun({ ...job, cluster: { ...job.cluster, backend: 'cpu' } }, 2, `cpu-${trainName.replace(/\W+/g, '-')}`);
            expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
          });
        }

        it('the comparison can fail: dropout and clipping change the result', async () => {
          const noDropout = flatWeights(await referenceTrain(spec, { noDropout: true }));
          expect(relativeDiff(noDropout, reference)).toBeGreaterThan(100 * TOLERANCE);
          if (spec.train.clipNorm !== undefined) {
            const noClip = flatWeights(await referenceTrain(spec, { noClip: true }));
            expect(relativeDiff(noClip, reference)).toBeGreaterThan(100 * TOLERANCE);
          }
        });
      });
    }
  });
}

describe('N workers equal one process: a tfjs-layers topology from a file', () => {
  const topology = new URL('../configs/topologies/blobs-tanh-mlp.json', import.meta.url).pathname;
  const job = {
    name: 'equiv-topology',
    seed: 3,
    data: { source: 'synthetic', kind: 'blobs', samples: 620, features: 8, classes: 4, noise: 1.0 },
    model: { topology },
    train: { maxSteps: 20, batchSize: 50, optimizer: { name: 'rmsprop', lr: 0.003 } },
    cluster: { backend: 'wasm', chunkBytes: 4096 },
  };
  it('3 workers: weights within 1e-5 relative', async () => {
    const reference = flatWeights(await referenceTrain(parseJobSpec(job, 'topology job')));
    const got = await dtrainRun(job, 3, 'topology-3');
    expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
  });
});
