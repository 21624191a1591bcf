/**
 * GAN jobs through real `dtrain run`s (coordinator, 2 and 3 worker
 * processes, the ring) equal a plain single-process implementation of
 * Algorithm 1: both networks' weights within 1e-5 relative after 10
 * iterations, for k = 1 and k = 2 discriminator steps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/jobs/registry.js';
import type { GanJob } from '../src/jobs/gan/spec.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';
import { runCli, writeJob } from './helpers/cli.js';
import { equivalenceRuns, report, TOLERANCE, WEBGPU_TOLERANCE } from './helpers/dtrain-run.js';
import { ganReference } from './helpers/gan-reference.js';
import { flatWeights, relativeDiff } from './helpers/reference.js';

const tmp = equivalenceRuns();

const job = (dSteps: number, batchNorm = 'none') => ({
  name: 'gan-equiv',
  type: 'gan',
  seed: 5,
  data: { source: 'synthetic', kind: 'ring8', samples: 700 },
  generator: { zoo: 'mlp', hidden: [16, 16], batchNorm },
  discriminator: { zoo: 'mlp', hidden: [16, 8], batchNorm },
  gan: { dSteps, latentDim: 3, labelSmoothing: 0.1, evalSamples: 500, generatorOptimizer: { name: 'adam', lr: 0.004, beta1: 0.5 }, discriminatorOptimizer: { name: 'rmsprop', lr: 0.002 } },
  train: { epochs: 3, batchSize: 47, maxSteps: 10, logEvery: 5 },
  cluster: { backend: 'wasm' },
});

async function run(j: Record<string, unknown>, workers: number, tag: string) {
  const out = join(tmp.dir, tag);
  const r = await runCli(['run', writeJob(tmp.dir, `${tag}.json`, j), '--workers', String(workers), '--out', out, '--no-progress']);
  expect(r.stderr, r.stderr).not.toMatch(/dtrain: /);
  expect(r.code).toBe(0);
  const load = async (net: string) => flatWeights(await tfl.loadLayersModel(fileLoadHandler(join(out, net))));
  return { g: await load('generator'), d: await load('discriminator'), summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
}

describe('GAN jobs: N worker processes equal single-process Algorithm 1', () => {
  for (const k of [1, 2]) {
    const ref = () => ganReference(parseJobSpec(job(k), 'gan job') as GanJob);
    for (const workers of [2, 3]) {
      it(`k = ${k}, ${workers} workers (47 a batch: uneven shards): both networks within ${TOLERANCE}`, async () => {
        const got = await run(job(k), workers, `gan-k${k}-n${workers}`);
        const expected = await ref();
        expect(relativeDiff(got.g, expected.g)).toBeLessThanOrEqual(TOLERANCE);
        expect(relativeDiff(got.d, expected.d)).toBeLessThanOrEqual(TOLERANCE);
        expect(got.summary).toMatchObject({ status: 'succeeded', steps: 10 * (k + 1), gan: { iterations: 10, modes: 8, samples: 500 } });
      });
    }
  }

  it(`2 workers on webgpu (software rendering here): both networks within ${WEBGPU_TOLERANCE} of one cpu process`, async () => {
    const got = await run({ ...job(1), cluster: { backend: 'webgpu' } }, 2, 'gan-webgpu');
    const expected = await ganReference(parseJobSpec(job(1), 'gan job') as GanJob);
    report('webgpu GAN k = 1, 2 workers vs one cpu process: generator', relativeDiff(got.g, expected.g));
    report('webgpu GAN k = 1, 2 workers vs one cpu process: discriminator', relativeDiff(got.d, expected.d));
    expect(relativeDiff(got.g, expected.g)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    expect(relativeDiff(got.d, expected.d)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    expect(got.summary).toMatchObject({ backend: 'webgpu', adapter: expect.any(String) });
  });

  it('synchronized batch-norm in both networks, 2 workers: equal to tfjs BatchNormalization in one process', async () => {
    const got = await run(job(1, 'sync'), 2, 'gan-syncbn');
    const expected = await ganReference(parseJobSpec(job(1, 'sync'), 'gan job') as GanJob, { standardLayers: true });
    expect(relativeDiff(got.g, expected.g)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeDiff(got.d, expected.d)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('DCGAN on Fashion-MNIST images (transposed convolutions, synchronized batch-norm in both networks), 2 workers: equal to one process', async () => {
    const dcgan = {
      ...job(1),
      name: 'gan-dcgan-equiv',
      data: { source: 'fashion-mnist', limit: 240 },
      generator: { zoo: 'dcgan', filters: [8, 4], kernelSize: 4, batchNorm: 'sync' },
      discriminator: { zoo: 'dcgan', filters: [4, 8], kernelSize: 3, batchNorm: 'sync' },
      gan: { ...job(1).gan, latentDim: 8, sampleEvery: 0, gridSamples: 4 },
      train: { epochs: 3, batchSize: 23, maxSteps: 10, logEvery: 5 },
    };
    const got = await run(dcgan, 2, 'gan-dcgan');
    const expected = await ganReference(parseJobSpec(dcgan, 'gan job') as GanJob, { standardLayers: true });
    expect(relativeDiff(got.g, expected.g)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeDiff(got.d, expected.d)).toBeLessThanOrEqual(TOLERANCE);
    expect(got.summary.gan).toMatchObject({ iterations: 10, pictures: ['samples/final.png'] });
  });

  it('the comparison can fail: another discriminator step count is another computation', async () => {
    const got = await run(job(1), 2, 'gan-k1-vs-k2');
    const k2 = await ganReference(parseJobSpec(job(2), 'gan job') as GanJob);
    expect(relativeDiff(got.d, k2.d)).toBeGreaterThan(100 * TOLERANCE);
  });
});
