/**
 * `type: vae` job files: the defaults of every key, and for every key and
 * check a clear error naming it (the schema's, the cross-key checks', the
 * data's range and the networks' shapes, found when data is loaded or
 * networks built).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/jobs/registry.js';
import { loadVaeData } from '../src/jobs/vae/data.js';
import { buildVae } from '../src/jobs/vae/networks.js';
import type { VaeJob } from '../src/jobs/vae/spec.js';
import { DataError, JobSpecError } from '../src/util/errors.js';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';

const tmp = tempDir();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

/** A Fashion-MNIST folder for parsing only: it must exist, nothing in it is read. */
const imagesDir = () => {
  const d = join(tmp.dir, 'fmnist');
  mkdirSync(d, { recursive: true });
  return d;
};

const base = () => ({ name: 'v', type: 'vae', data: { source: 'fashion-mnist', path: imagesDir() }, cluster: { workers: 2 } });
const parse = (extra: Record<string, unknown>) => parseJobSpec({ ...base(), ...extra }, 'vae.yaml') as VaeJob;

describe('vae job files', () => {
  it('every key has a default: an mlp 512-256 with a latent of 16, β 1, Adam 1e-3, 64 samples and 36 reconstructions', () => {
    const spec = parse({});
    expect(spec.model).toEqual({ zoo: 'mlp', hidden: [512, 256], activation: 'relu' });
    expect(spec.vae).toEqual({ latent: 16, beta: 1, samples: 64, reconstructions: 36 });
    expect(spec.train.optimizer).toEqual({ name: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(parse({ model: { zoo: 'conv' } }).model).toEqual({ zoo: 'conv', filters: [32, 64], kernelSize: 4, activation: 'relu' });
    expect(parse({ train: { optimizer: { name: 'sgd', lr: 0.5 } } }).train.optimizer).toEqual({ name: 'sgd', lr: 0.5 });
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['unknown zoo', { model: { zoo: 'cnn' } }, /vae\.yaml: model\.zoo: .*"mlp", "conv"/],
    ['no hidden layer', { model: { zoo: 'mlp', hidden: [] } }, /model\.hidden: .*at least 1/],
    ['a hidden layer of 0 units', { model: { zoo: 'mlp', hidden: [0] } }, /model\.hidden\.0: .*greater than 0/],
    ['unknown activation', { model: { zoo: 'mlp', activation: 'gelu' } }, /model\.activation: must be one of/],
    ['a conv key on the mlp', { model: { zoo: 'mlp', filters: [8] } }, /model\.filters: unknown key/],
    ['an mlp key on the conv', { model: { zoo: 'conv', hidden: [8] } }, /model\.hidden: unknown key/],
    ['six conv layers', { model: { zoo: 'conv', filters: [1, 2, 3, 4, 5, 6] } }, /model\.filters: .*at most 5/],
    ['a kernel of 1', { model: { zoo: 'conv', kernelSize: 1 } }, /model\.kernelSize: .*greater than or equal to 2/],
    ['28×28 images through 3 stride-2 convolutions', { model: { zoo: 'conv', filters: [8, 8, 8] } }, /model\.filters: 3 stride-2 convolutions need the image's sides \(28×28\) divisible by 8/],
    ['a latent of 0', { vae: { latent: 0 } }, /vae\.latent: .*greater than 0/],
    ['a negative β', { vae: { beta: -1 } }, /vae\.beta: .*greater than or equal to 0/],
    ['no samples in the picture', { vae: { samples: 0 } }, /vae\.samples: .*greater than 0/],
    ['too many reconstructions', { vae: { reconstructions: 5000 } }, /vae\.reconstructions: .*less than or equal to 1024/],
    ['unknown vae key', { vae: { latentDim: 8 } }, /vae\.latentDim: unknown key/],
    ['unbounded synthetic data', { data: { source: 'synthetic', kind: 'blobs' } }, /data\.source: vae jobs model every value as a Bernoulli probability in \[0, 1\], and synthetic points are unbounded/],
    ['a validation split', { data: { source: 'fashion-mnist', path: '.', validation: 0.1 } }, /data\.validation: vae jobs evaluate on the test split only/],
    ['gradient sums overlapped with the backward pass', { cluster: { workers: 2, overlap: true } }, /cluster\.overlap: vae jobs sum their gradients after the backward pass/],
    ['conv on csv rows', { data: { source: 'csv', path: 'rows.csv', label: 0 }, model: { zoo: 'conv' } }, /model\.zoo: conv needs image data .* csv samples are vectors: use mlp/],
    ['conv on 30×30 images', { data: { source: 'images', path: '.', size: [30, 30] }, model: { zoo: 'conv', filters: [4, 4] } }, /model\.filters: 2 stride-2 convolutions need the image's sides \(30×30\) divisible by 4/],
  ];
  for (const [name, extra, message] of cases) {
    it(`${name}: refused, naming the key`, () => {
      expect(() => parse(extra)).toThrow(JobSpecError);
      expect(() => parse(extra)).toThrow(message);
    });
  }

  it('the networks check the shape of data only known once loaded (npy or module samples)', () => {
    const conv = parse({ model: { zoo: 'conv', filters: [4, 4] } }).model;
    expect(() => buildVae(conv, 4, [6], 0)).toThrow(/model\.zoo: conv needs images \[H, W, C\], and the samples have shape \[6\]: use mlp/);
    expect(() => buildVae(conv, 4, [18, 20, 1], 0)).toThrow(/model\.filters: 2 stride-2 convolutions need the image's sides \(18×20\) divisible by 4/);
    const ok = buildVae(conv, 4, [20, 12, 3], 0);
    expect(ok.decoder.outputs[0].shape).toEqual([null, 20, 12, 3]);
    expect(ok.encoder.outputs[0].shape).toEqual([null, 8]);
  });

  it('data outside [0, 1] is refused when loaded, naming the sample and the value; data inside loads', () => {
    const rows = (v: number) => `label,a,b\n${Array.from({ length: 10 }, (_, i) => `${i % 2},0.5,${i === 7 ? v : 0.25}`).join('\n')}\n`;
    writeFileSync(join(tmp.dir, 'bad.csv'), rows(2));
    writeFileSync(join(tmp.dir, 'good.csv'), rows(1));
    const csv = (file: string) => parseJobSpec({ ...base(), data: { source: 'csv', path: join(tmp.dir, file), label: 'label', testFraction: 0.2 } }, 'vae.yaml') as VaeJob;
    expect(() => loadVaeData(csv('bad.csv'))).toThrow(DataError);
    expect(() => loadVaeData(csv('bad.csv'))).toThrow(/data \(source csv\): the (training|test) sample \d+ holds the value 2; a vae job reads every value as a Bernoulli probability, so the data must lie in \[0, 1\]/);
    expect(loadVaeData(csv('good.csv'))).toMatchObject({ train: { featureShape: [2] } });
  });

  it('through the CLI: exit 2, the file and the key named, nothing started', async () => {
    const file = writeJob(tmp.dir, 'blobs.yaml', `name: v\ntype: vae\ndata: { source: synthetic, kind: blobs }\n`);
    const out = join(tmp.dir, 'out-blobs');
    const r = await runCli(['run', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: data.source: vae jobs model every value`);
    expect(existsSync(out)).toBe(false);
  });
});
