/**
 * VAE jobs through real `dtrain run`s (coordinator and 2 worker processes
 * on Fashion-MNIST): summary.json's test ELBO and its terms, the closing
 * lines, samples.png and reconstructions.png of the expected size (also in
 * TensorBoard, byte for byte), the saved networks; resumed from an earlier
 * checkpoint it ends with the same weights; strategy ps trains the same
 * networks as the ring.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { gather, type Dataset } from '../src/data/dataset.js';
import { loadData } from '../src/data/load.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';
import { FASHION_MNIST, runCli, writeJob } from './helpers/cli.js';
import { equivalenceRuns, TOLERANCE } from './helpers/dtrain-run.js';
import { readPng } from './helpers/png-read.js';
import { flatWeights, relativeDiff } from './helpers/reference.js';
import { readEvents } from './helpers/tfevents-read.js';

const tmp = equivalenceRuns();

const job = {
  name: 'vae-run',
  type: 'vae',
  seed: 3,
  data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 400, testLimit: 150 },
  model: { zoo: 'mlp', hidden: [32] },
  vae: { latent: 4, samples: 16, reconstructions: 10 },
  train: { batchSize: 40, maxSteps: 10, logEvery: 5, evalEvery: 5, clipNorm: 50, checkpoint: { every: 4, epochEnd: false, keep: 5 } },
  cluster: { workers: 2, backend: 'wasm' },
};

interface Summary {
  status: string;
  steps: number;
  eval: { loss: number; elbo: number; reconstruction: number; kl: number };
  vae: { latent: number; beta: number; pictures: string[] };
}

async function run(args: string[]) {
  const r = await runCli(args);
  expect(r.stderr, r.stderr).not.toMatch(/dtrain: /);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function networksOf(out: string): Promise<Float32Array> {
  const load = async (net: string) => flatWeights(await tfl.loadLayersModel(fileLoadHandler(join(out, net))));
  return new Float32Array([...(await load('encoder')), ...(await load('decoder'))]);
}

describe.skipIf(!existsSync(FASHION_MNIST))('vae jobs through dtrain run', () => {
  const out = join(tmp.dir, 'ring');
  let stderr = '';
  beforeAll(async () => {
    stderr = (await run(['run', writeJob(tmp.dir, 'vae.json', job), '--out', out, '--no-progress'])).stderr;
  }, 60_000);

  it('summary.json gives the test ELBO, a finite negative number, = −(reconstruction + KL); the closing lines say it', () => {
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    expect(s).toMatchObject({ status: 'succeeded', steps: 10, vae: { latent: 4, beta: 1, pictures: ['samples.png', 'reconstructions.png'] } });
    expect(Number.isFinite(s.eval.elbo)).toBe(true);
    expect(s.eval.elbo).toBeLessThan(0);
    expect(s.eval.elbo).toBeCloseTo(-(s.eval.reconstruction + s.eval.kl), 6);
    expect(s.eval.kl).toBeGreaterThan(0);
    // β = 1: the loss is the negative ELBO.
    expect(s.eval.loss).toBeCloseTo(-s.eval.elbo, 3);
    // train.evalEvery 5: the test ELBO after step 5 too, the curve's first point; the last is eval's.
    const evaluations = (s as unknown as { evaluations: { step: number; elbo: number }[] }).evaluations;
    expect(evaluations.map((e) => e.step)).toEqual([5, 10]);
    expect(evaluations[1].elbo).toBe(s.eval.elbo);
    expect(evaluations[0].elbo).not.toBe(s.eval.elbo);
    expect(stderr).toMatch(/eval ELBO -\d+\.\d\d nats \(reconstruction \d+\.\d\d, KL \d+\.\d\d\) a test sample/);
    expect(stderr).toMatch(/wrote .*summary\.json, encoder\/, decoder\/, samples\.png, reconstructions\.png,/);
  });

  it('samples.png is a 4 × 4 grid and reconstructions.png 10 pairs of 28 × 28 images, zoomed 2 ×; TensorBoard holds both', () => {
    const samples = readPng(readFileSync(join(out, 'samples.png')));
    expect(samples).toMatchObject({ width: 4 * 56 + 5 * 2, height: 4 * 56 + 5 * 2, channels: 1 });
    const pairs = readPng(readFileSync(join(out, 'reconstructions.png')));
    // ⌈√10⌉ = 4 columns of (image | reconstruction) tiles, 3 rows.
    expect(pairs).toMatchObject({ width: 4 * 112 + 5 * 2, height: 3 * 56 + 4 * 2, channels: 1 });
    // The first tile's left half is test image 0, pixel for pixel (each drawn 2 × 2 after a 2-pixel gap); its right half is not.
    const image0 = gather(loadData(parseJobSpec(job, 'vae job').data, 3).test as Dataset, [0]).x;
    const at = (x: number, y: number) => pairs.pixels[(2 + 2 * y) * pairs.width + 2 + 2 * x];
    const left = Array.from({ length: 784 }, (_, i) => at(i % 28, Math.floor(i / 28)));
    expect(left).toEqual(Array.from(image0, (v) => Math.round(v * 255)));
    const right = Array.from({ length: 784 }, (_, i) => at(28 + (i % 28), Math.floor(i / 28)));
    expect(right).not.toEqual(left);
    const [events] = readdirSync(join(out, 'tensorboard'));
    const { images } = readEvents(join(out, 'tensorboard', events));
    expect(images.map((i) => [i.tag, i.step])).toEqual([
      ['samples', 10],
      ['reconstructions', 10],
    ]);
    expect(images[0].png.equals(readFileSync(join(out, 'samples.png')))).toBe(true);
    expect(images[1].png.equals(readFileSync(join(out, 'reconstructions.png')))).toBe(true);
  });

  it('resumed from its step-4 checkpoint, the run ends with the same networks', async () => {
    const again = join(tmp.dir, 'resumed');
    cpSync(out, again, { recursive: true });
    expect(readdirSync(join(again, 'checkpoints')).filter((d) => d.startsWith('step-')).sort()).toEqual(['step-0000004', 'step-0000008']);
    rmSync(join(again, 'checkpoints', 'step-0000008'), { recursive: true });
    const r = await run(['run', '--resume', again]);
    expect(r.stderr).toMatch(/resuming from .*step-0000004 \(step 4\)/);
    expect(await networksOf(again)).toEqual(await networksOf(out));
  });

  it('strategy ps (one shard): the same networks as the ring, within float32 rounding', async () => {
    const ps = join(tmp.dir, 'ps');
    await run(['run', writeJob(tmp.dir, 'vae-ps.json', { ...job, train: { ...job.train, checkpoint: { keep: 0 } } }), '--strategy', 'ps', '--out', ps, '--no-progress']);
    expect(relativeDiff(await networksOf(ps), await networksOf(out))).toBeLessThanOrEqual(TOLERANCE);
  });
});
