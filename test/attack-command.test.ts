/**
 * `dtrain attack` on a model saved by a real `dtrain run`: the test set
 * spread over 2 worker processes gives the accuracies tfjs ops compute on
 * the saved model (clean, FGSM, PGD-k with dtrain's seeded random starts),
 * the same as 1 worker; the saved batch-norm statistics reach the workers;
 * the gallery; clear errors for bad input.
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { evaluationAttacks } from '../src/jobs/adversarial/spec.js';
import { galleryRows, GALLERY_IMAGES } from '../src/jobs/adversarial/gallery.js';
import { EVAL_PURPOSE } from '../src/jobs/adversarial/attacks.js';
import { gather } from '../src/data/dataset.js';
import { FASHION_MNIST_CLASSES } from '../src/data/idx.js';
import { loadData } from '../src/data/load.js';
import { readState, writeState } from '../src/tensor/flat.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import type { AdversarialJob } from '../src/jobs/adversarial/spec.js';
import { galleryPicture } from '../src/jobs/adversarial/gallery-picture.js';
import { referenceAttack } from './helpers/attack-reference.js';
import { FASHION_MNIST, runCli, writeJob } from './helpers/cli.js';
import { dtrainRun, equivalenceRuns, savedModel } from './helpers/dtrain-run.js';
import { readPng } from './helpers/png-read.js';

const tmp = equivalenceRuns();

const trained = {
  name: 'attack-target',
  type: 'supervised',
  seed: 5,
  data: { source: 'fashion-mnist', limit: 600, testLimit: 150 },
  model: { zoo: 'cnn', conv: [8], dense: [16], batchNorm: 'local' },
  train: { epochs: 2, batchSize: 50, optimizer: { name: 'adam', lr: 0.005 } },
  cluster: { backend: 'wasm' },
};

const run = join(tmp.dir, 'run');
const ensureTrained = async () => {
  if (!existsSync(join(run, 'model', 'model.json'))) await dtrainRun(tmp.dir, trained, ['--workers', '1'], 'run');
};

const attack = async (flags: string[], out: string) => {
  const r = await runCli(['attack', '--model', run, '--epsilon', '0.1', '--steps', '4', '--attack', 'both', '--out', out, '--no-progress', ...flags]);
  expect(r.stderr, r.stderr).not.toMatch(/dtrain: /);
  expect(r.code).toBe(0);
  return { stderr: r.stderr, summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
};

describe.skipIf(!existsSync(FASHION_MNIST))('dtrain attack', () => {
  it("2 workers: clean, FGSM and PGD-4 accuracy of the saved model equal tfjs-ops attacks on it; the saved batch-norm statistics are used", async () => {
    await ensureTrained();
    const { summary, stderr } = await attack(['--workers', '2'], join(tmp.dir, 'attack-2'));
    expect(stderr).toMatch(/under attack at ε 0.1: FGSM accuracy [\d.]+% {2}PGD-4 accuracy [\d.]+%/);
    const runSummary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    // The run's own evaluation used the trained batch-norm statistics: so must the attack's workers.
    expect(summary.eval.loss).toBeCloseTo(runSummary.eval.loss, 5);
    expect(summary.adversarial.clean).toBe(runSummary.eval.accuracy);

    const spec = parseJobSpec({ ...trained, type: 'adversarial', adversarial: { epsilon: 0.1, evalSteps: 4 } }, 'reference') as AdversarialJob;
    const test = loadData(spec.data, spec.seed).test;
    const model = await savedModel(run);
    const all = gather(test, Int32Array.from({ length: test.size }, (_, i) => i));
    const x = tf.tensor(all.x, [test.size, ...test.featureShape]);
    const accuracy = (input: tf.Tensor) => tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(input) as tf.Tensor, 1), tf.tensor1d(all.y, 'int32')), 'float32')).dataSync()[0]);
    const attacks = evaluationAttacks(spec.adversarial, spec.data.source);
    const key = { seed: spec.seed, step: 0, offset: 0, purpose: EVAL_PURPOSE };
    expect(summary.adversarial).toMatchObject({ epsilon: 0.1, pgdSteps: 4, pgdStepSize: 0.0625 });
    expect(summary.adversarial.clean).toBeCloseTo(accuracy(x), 6);
    expect(summary.adversarial.fgsm).toBeCloseTo(accuracy(referenceAttack(model, x, all.y as Int32Array, test.classes, attacks.fgsm!, key)), 6);
    expect(summary.adversarial.pgd).toBeCloseTo(accuracy(referenceAttack(model, x, all.y as Int32Array, test.classes, attacks.pgd!, key)), 6);
    expect(summary.adversarial.pgd).toBeLessThan(summary.adversarial.clean);

    // The statistics check can fail: with fresh batch-norm statistics the model scores differently.
    const state = readState(model);
    writeState(model, state.map((_, i) => (i < state.length / 2 ? 0 : 1)));
    const fresh = tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(all.y, 'int32'), test.classes), model.predict(x) as tf.Tensor).dataSync()[0]);
    expect(Math.abs(fresh - summary.eval.loss)).toBeGreaterThan(1e-3);
  });

  it('1 worker gives the same counts as 2; --attack pgd runs PGD alone', async () => {
    await ensureTrained();
    const two = existsSync(join(tmp.dir, 'attack-2', 'summary.json')) ? JSON.parse(readFileSync(join(tmp.dir, 'attack-2', 'summary.json'), 'utf8')) : (await attack(['--workers', '2'], join(tmp.dir, 'attack-2'))).summary;
    const { summary: one } = await attack(['--workers', '1'], join(tmp.dir, 'attack-1'));
    expect(one.adversarial).toEqual(two.adversarial);
    const { summary: pgd } = await attack(['--workers', '1', '--attack', 'pgd', '--limit', '40'], join(tmp.dir, 'attack-pgd'));
    expect(pgd.adversarial.fgsm).toBeUndefined();
    expect(pgd.adversarial.pgd).toBeTypeOf('number');
    expect(pgd.samplesPerSecond).toBeGreaterThan(0);
  });

  it('the gallery: the first test images, their attacks within ε, the predictions on both, as a PNG of the layout', async () => {
    await ensureTrained();
    const out = join(tmp.dir, 'attack-2');
    if (!existsSync(out)) await attack(['--workers', '2'], out);
    const png = readPng(readFileSync(join(out, 'gallery.png')));
    const spec = parseJobSpec({ ...trained, type: 'adversarial', adversarial: { epsilon: 0.1, evalSteps: 4 } }, 'reference') as AdversarialJob;
    const test = loadData(spec.data, spec.seed).test;
    const model = await savedModel(run);
    const rows = galleryRows(model, test, spec.seed, evaluationAttacks(spec.adversarial, spec.data.source).pgd!, GALLERY_IMAGES);
    const expected = galleryPicture(rows, { height: 28, width: 28, range: [0, 1], epsilon: 0.1, title: 'PGD-4 AT EPS 0.1', classNames: FASHION_MNIST_CLASSES });
    expect([png.width, png.height, png.channels]).toEqual([expected.width, expected.height, 3]);
    for (const r of rows) {
      for (let i = 0; i < r.clean.length; i++) {
        expect(Math.abs(r.adversarial[i] - r.clean[i])).toBeLessThanOrEqual(0.1 + 1e-6);
        expect(r.adversarial[i]).toBeGreaterThanOrEqual(0);
        expect(r.adversarial[i]).toBeLessThanOrEqual(1);
      }
      const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor(r.adversarial, [1, 28, 28, 1])) as tf.Tensor).dataSync());
      expect(r.adversarialPrediction.label).toBe(p.indexOf(Math.max(...p)));
      expect(r.adversarialPrediction.probability).toBeCloseTo(Math.max(...p), 5);
    }
    expect(rows.map((r) => r.label)).toEqual([...test.y.subarray(0, GALLERY_IMAGES)]);
  });

  it('errors: no model, no data to attack on, a model that does not fit the data, bad flags', async () => {
    await ensureTrained();
    const bare = join(tmp.dir, 'bare');
    mkdirSync(bare, { recursive: true });
    cpSync(join(run, 'model'), join(bare, 'model'), { recursive: true });
    const synthetic = writeJob(tmp.dir, 'blobs.json', { name: 'blobs', seed: 1, data: { source: 'synthetic', kind: 'blobs', samples: 400, features: 4, classes: 3 }, model: { zoo: 'mlp' }, train: {} });
    const cases: [string[], RegExp][] = [
      [['--model', join(tmp.dir, 'nothing'), '--epsilon', '0.1'], /no model in .*nothing: expected .*model\.json/],
      [['--model', bare, '--epsilon', '0.1'], /--data is needed: .*bare has no job\.json/],
      [['--model', bare, '--epsilon', '0.1', '--data', synthetic], /does not fit the data: input shape \[28,28,1\] does not fit the data's \[4\]/],
      [['--model', bare, '--epsilon', '0.1', '--data', synthetic, '--limit', '5'], /--limit applies to fashion-mnist data/],
      [['--model', bare, '--epsilon', '0.1', '--data', join(tmp.dir, 'missing.yaml')], /--data .*missing\.yaml: not fashion-mnist, a folder or a job file/],
      [['--model', run, '--epsilon', '0'], /--epsilon must be a number > 0/],
      [['--model', run, '--epsilon', '0.1', '--attack', 'cw'], /Allowed choices are pgd, fgsm, both/],
      [['--model', run], /required option '-e, --epsilon <ε>' not specified/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['attack', ...args, '--no-progress']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
