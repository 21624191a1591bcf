/**
 * Image GANs end to end through real `dtrain run`s: a classifier trained by
 * dtrain scores the generated samples beside real test images (checked
 * against the definition computed here), sample grids land in DIR/samples/,
 * and `dtrain sample` draws grids and scatter plots from a saved generator.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GanScore } from '../src/jobs/gan/coordinator.js';
import { gather } from '../src/data/dataset.js';
import { loadData } from '../src/data/load.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';
import { runCli, writeJob } from './helpers/cli.js';
import { equivalenceRuns } from './helpers/dtrain-run.js';
import { readPng } from './helpers/png-read.js';

const tmp = equivalenceRuns();

const classifierJob = {
  name: 'clf',
  seed: 2,
  data: { source: 'fashion-mnist', limit: 3000, testLimit: 400 },
  model: { zoo: 'mlp', hidden: [64] },
  train: { epochs: 2, batchSize: 50, optimizer: { name: 'adam', lr: 0.002 } },
  cluster: { workers: 1, backend: 'wasm' },
};

const ganJob = (classifier: string) => ({
  name: 'gan-images',
  type: 'gan',
  seed: 9,
  data: { source: 'fashion-mnist', limit: 600, testLimit: 300 },
  generator: { zoo: 'dcgan', filters: [16, 8] },
  discriminator: { zoo: 'dcgan', filters: [8, 16] },
  gan: { latentDim: 16, sampleEvery: 5, gridSamples: 16, evalSamples: 200, classifier },
  train: { batchSize: 32, maxSteps: 12, logEvery: 4 },
  cluster: { workers: 2, backend: 'wasm' },
});

async function dtrain(args: string[]) {
  const r = await runCli(args);
  return { ...r, out: r.stdout + r.stderr };
}

/** p(y|x) by tfjs-layers' predict, softmax and the three measures in float64, written out here. */
function scoreByDefinition(model: tfl.LayersModel, images: Float32Array, n: number) {
  const logits = tf.tidy(() => (model.predict(tf.tensor(images, [n, 28, 28, 1])) as tf.Tensor).arraySync() as number[][]);
  const p = logits.map((z) => {
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    return e.map((v) => v / e.reduce((a, b) => a + b, 0));
  });
  const mean = p[0].map((_, j) => p.reduce((s, r) => s + r[j], 0) / n);
  const kl = p.map((r) => r.reduce((s, v, j) => s + (v > 0 ? v * Math.log(v / mean[j]) : 0), 0));
  return {
    meanConfidence: p.reduce((s, r) => s + Math.max(...r), 0) / n,
    classEntropy: -mean.reduce((s, q) => s + (q > 0 ? q * Math.log(q) : 0), 0),
    inceptionScore: Math.exp(kl.reduce((a, b) => a + b, 0) / n),
  };
}

describe('image GAN jobs', () => {
  const ganOut = join(tmp.dir, 'gan');
  let summary: { gan: GanScore };

  beforeAll(async () => {
    const clf = await dtrain(['run', writeJob(tmp.dir, 'clf.json', classifierJob), '--out', join(tmp.dir, 'clf'), '--no-progress']);
    expect(clf.code, clf.out).toBe(0);
    // The classifier path is relative to the job file.
    const r = await dtrain(['run', writeJob(tmp.dir, 'gan.json', ganJob('clf/model')), '--out', ganOut, '--no-progress']);
    expect(r.code, r.out).toBe(0);
    expect(r.stderr).toMatch(/generated: mean confidence [\d.]+ +class entropy [\d.]+ nats +inception score [\d.]+/);
    summary = JSON.parse(readFileSync(join(ganOut, 'summary.json'), 'utf8'));
  }, 240_000);

  it('the classifier scores real test images as the definition says, and generated ones beside them', async () => {
    const score = summary.gan.score!;
    expect(score.classifier).toBe(join(tmp.dir, 'clf', 'model'));
    const clf = await tfl.loadLayersModel(fileLoadHandler(join(tmp.dir, 'clf', 'model')));
    const spec = parseJobSpec(ganJob('x'), 'gan job');
    const test = loadData(spec.data, spec.seed).test;
    const expected = scoreByDefinition(clf, gather(test, Int32Array.from({ length: 200 }, (_, i) => i)).x, 200);
    for (const k of ['meanConfidence', 'classEntropy', 'inceptionScore'] as const) expect(score.real[k]).toBeCloseTo(expected[k], 5);
    // A trained classifier on real images: confident, and spread over the ten classes.
    expect(score.real.meanConfidence).toBeGreaterThan(0.6);
    expect(score.real.classEntropy).toBeGreaterThan(0.9 * Math.log(10));
    expect(score.generated.samples).toBe(200);
    expect(score.generated.classCounts.reduce((a, b) => a + b, 0)).toBe(200);
    expect(score.generated.inceptionScore).toBeGreaterThanOrEqual(1);
  });

  it('writes a grid of generated samples every sampleEvery iterations and at the end', () => {
    expect(summary.gan.pictures).toEqual(['samples/iteration-000005.png', 'samples/iteration-000010.png', 'samples/final.png']);
    for (const f of summary.gan.pictures) {
      const png = readPng(readFileSync(join(ganOut, f)));
      // 16 images of 28×28 drawn 2×2: 4 columns and rows of 56 pixels, 2-pixel gaps.
      expect(png).toMatchObject({ width: 4 * 56 + 5 * 2, height: 4 * 56 + 5 * 2, channels: 1 });
      expect(new Set(png.pixels).size).toBeGreaterThan(10);
    }
  });

  it('dtrain sample draws the same grid from the saved generator with the job seed, and other grids on request', async () => {
    const same = join(tmp.dir, 'same.png');
    const r = await dtrain(['sample', ganOut, '--count', '16', '--seed', '9', '--out', same]);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/wrote .*same\.png: 16 samples of shape \[28,28,1\]/);
    expect(readPng(readFileSync(same)).pixels).toEqual(readPng(readFileSync(join(ganOut, 'samples', 'final.png'))).pixels);
    const small = join(tmp.dir, 'small.png');
    expect((await dtrain(['sample', join(ganOut, 'generator'), '-n', '9', '--zoom', '1', '--out', small])).code).toBe(0);
    expect(readPng(readFileSync(small))).toMatchObject({ width: 3 * 28 + 4 * 2, height: 3 * 28 + 4 * 2 });
  });

  it('dtrain sample on a 2-D GAN draws a scatter plot', async () => {
    const ring = { name: 'ring', type: 'gan', data: { source: 'synthetic', kind: 'ring8', samples: 400 }, generator: { zoo: 'mlp', hidden: [8] }, discriminator: { zoo: 'mlp', hidden: [8] }, train: { batchSize: 40, maxSteps: 3 }, cluster: { workers: 1, backend: 'cpu' } };
    const out = join(tmp.dir, 'ring');
    expect((await dtrain(['run', writeJob(tmp.dir, 'ring.json', ring), '--out', out, '--no-progress'])).code).toBe(0);
    const r = await dtrain(['sample', out, '--count', '500']);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain('scatter plot');
    expect(readPng(readFileSync(join(out, 'samples', 'sample-seed1.png')))).toMatchObject({ width: 384, height: 384, channels: 3 });
  });

  it('dtrain sample explains a folder without a generator and bad counts', async () => {
    const none = await dtrain(['sample', tmp.dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no generator in .*expected .*generator\/model\.json/);
    const zero = await dtrain(['sample', ganOut, '--count', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--count must be a whole number from 1 to 4096/);
  });

  it('a missing or unfitting classifier fails the job before training, naming gan.classifier', async () => {
    const missing = await dtrain(['run', writeJob(tmp.dir, 'gan-missing.json', ganJob('nowhere/model')), '--out', join(tmp.dir, 'gan-missing'), '--no-progress']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/gan\.classifier: no model\.json in .*nowhere\/model/);
    const ring = { name: 'ring-clf', data: { source: 'synthetic', kind: 'ring8', samples: 200 }, model: { zoo: 'mlp', hidden: [4] }, train: { batchSize: 50 }, cluster: { workers: 1, backend: 'cpu' } };
    expect((await dtrain(['run', writeJob(tmp.dir, 'ring-clf.json', ring), '--out', join(tmp.dir, 'ring-clf'), '--no-progress'])).code).toBe(0);
    const wrong = await dtrain(['run', writeJob(tmp.dir, 'gan-wrong.json', ganJob('ring-clf/model')), '--out', join(tmp.dir, 'gan-wrong'), '--no-progress']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/gan\.classifier: .* takes inputs of shape \[2\], the data's samples are \[28,28,1\]/);
  });
});
