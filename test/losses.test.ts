/**
 * train.loss: each loss's sum against a float64 computation written here;
 * regression (mse) on a CSV that fits a known line, 1 worker ≡ 3; a custom
 * loss from the model module that is the softmax cross-entropy trains to
 * the built-in one's weights (and one that is not, does not).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { objectiveOf } from '../src/tensor/objective.js';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { MODEL_MODULE, writeCsv } from './helpers/own-data.js';
import { rng } from './helpers/seeded-rng.js';
import { weightsOf } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.flatMap((w, k) => Array.from(w, (v, i) => Math.abs(v - b[k][i]))));

describe('loss sums against a float64 computation', () => {
  const r = rng(5);
  const n = 6;
  const k = 3;
  const z = Array.from({ length: n * k }, () => (r() - 0.5) * 8);
  const cls = Array.from({ length: n }, (_, i) => i % k);
  const outputs = tf.tensor2d(z, [n, k]);

  it('softmax cross-entropy', () => {
    let want = 0;
    for (let i = 0; i < n; i++) {
      const row = z.slice(i * k, i * k + k);
      const m = Math.max(...row);
      want += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[cls[i]];
    }
    const o = objectiveOf('softmax-cross-entropy', k);
    expect(o.lossSum(outputs, o.labelTensor(Int32Array.from(cls), n)).dataSync()[0]).toBeCloseTo(want, 4);
  });

  it('sigmoid cross-entropy: each logit a yes/no against the one-hot label', () => {
    let want = 0;
    z.forEach((v, j) => {
      const t = cls[Math.floor(j / k)] === j % k ? 1 : 0;
      const p = 1 / (1 + Math.exp(-v));
      want -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
    });
    const o = objectiveOf('sigmoid-cross-entropy', k);
    expect(o.lossSum(outputs, o.labelTensor(Int32Array.from(cls), n)).dataSync()[0]).toBeCloseTo(want, 3);
  });

  it('mse: the mean over targets of the squared error, summed over samples; absError likewise', () => {
    const y = Array.from({ length: n * k }, () => r() * 4);
    let sq = 0;
    let abs = 0;
    z.forEach((v, j) => {
      sq += (v - y[j]) ** 2 / k;
      abs += Math.abs(v - y[j]) / k;
    });
    const o = objectiveOf('mse', k);
    const labels = o.labelTensor(Float32Array.from(y), n);
    expect(o.lossSum(outputs, labels).dataSync()[0]).toBeCloseTo(sq, 3);
    expect(o.counts(outputs, labels).absError).toBeCloseTo(abs, 4);
  });

  it("a module's loss must give one value a sample", () => {
    const o = objectiveOf('module', k, { fn: ({ outputs: out }) => tf.sum(out), tf });
    expect(() => o.lossSum(outputs, o.labelTensor(Int32Array.from(cls), n))).toThrow(/one loss per sample \(shape \[6\]\), got shape \[\]/);
  });
});

/** A CSV whose target is 2·a − b + 0.5 (+ small noise), and a test file of the same line. */
function writeLine(file: string, rows: number, seed: number) {
  const r = rng(seed);
  const lines = ['a,b,target'];
  for (let i = 0; i < rows; i++) {
    const a = r() * 4 - 2;
    const b = r() * 4 - 2;
    lines.push(`${a.toFixed(4)},${b.toFixed(4)},${(2 * a - b + 0.5 + (r() - 0.5) * 0.02).toFixed(4)}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

describe('dtrain run with train.loss', () => {
  const run = async (name: string, job: Record<string, unknown>, workers: number) => {
    const out = join(tmp.dir, `${name}-${workers}`);
    const r = await runCli(['run', writeJob(tmp.dir, `${name}.json`, job), '--workers', String(workers), '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    return { out, stdout: r.stdout + r.stderr, weights: await weightsOf(out) };
  };

  it('mse on a CSV target: a linear model (mlp without hidden layers) finds the line; 1 worker = 3; the summary gives the mean absolute error', async () => {
    writeLine(join(tmp.dir, 'line.csv'), 240, 1);
    writeLine(join(tmp.dir, 'line-test.csv'), 60, 2);
    const job = {
      name: 'line',
      seed: 3,
      data: { source: 'csv', path: 'line.csv', testPath: 'line-test.csv', label: 'target' },
      model: { zoo: 'mlp', hidden: [] },
      train: { epochs: 40, batchSize: 24, loss: 'mse', optimizer: { name: 'adam', lr: 0.05 }, checkpoint: { keep: 0 } },
      cluster: { backend: 'cpu' },
    };
    const one = await run('line', job, 1);
    const three = await run('line', job, 3);
    expect(maxDiff(one.weights, three.weights)).toBeLessThanOrEqual(1e-5);
    // The model's flat weights: the kernel [2, 1], then the bias: the line's coefficients.
    expect(Array.from(one.weights[0])).toEqual([expect.closeTo(2, 1), expect.closeTo(-1, 1), expect.closeTo(0.5, 1)]);
    const summary = JSON.parse(readFileSync(join(one.out, 'summary.json'), 'utf8')) as { eval: { loss: number; meanAbsoluteError: number; accuracy?: number } };
    expect(summary.eval.accuracy).toBeUndefined();
    expect(summary.eval.meanAbsoluteError).toBeLessThan(0.05);
    expect(one.stdout).toMatch(/eval mean absolute error 0\.0\d+/);
  });

  it("train.loss module: the model module's loss, written as the softmax cross-entropy, trains to the built-in loss's weights; label smoothing does not", async () => {
    const dir = join(tmp.dir, 'own-loss');
    mkdirSync(dir, { recursive: true });
    writeCsv(join(dir, 'rows.csv'), 120);
    const lossOf = (smoothing: number) => `${MODEL_MODULE}
export function loss({ tf, outputs, labels }) {
  const classes = outputs.shape[1];
  const target = tf.add(tf.mul(tf.oneHot(labels, classes), ${1 - smoothing}), ${smoothing} / classes);
  return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(outputs)), 1));
}
`;
    const job = (name: string, loss: string) => ({
      name,
      seed: 4,
      data: { source: 'csv', path: join(dir, 'rows.csv'), label: 'species' },
      model: { module: join(dir, `${name}.mjs`) },
      train: { epochs: 4, batchSize: 24, loss, optimizer: { name: 'adam', lr: 0.01 }, checkpoint: { keep: 0 } },
      cluster: { backend: 'cpu' },
    });
    writeFileSync(join(dir, 'builtin.mjs'), MODEL_MODULE);
    writeFileSync(join(dir, 'mine.mjs'), lossOf(0));
    writeFileSync(join(dir, 'smooth.mjs'), lossOf(0.1));
    const builtin = await run('builtin', job('builtin', 'softmax-cross-entropy'), 2);
    const mine = await run('mine', job('mine', 'module'), 2);
    const smooth = await run('smooth', job('smooth', 'module'), 2);
    expect(maxDiff(builtin.weights, mine.weights)).toBeLessThanOrEqual(1e-5);
    expect(maxDiff(builtin.weights, smooth.weights)).toBeGreaterThan(1e-3);
  });

  it("the model module's metrics: a top-1 metric equals dtrain's accuracy, in the metrics lines and the summary", async () => {
    const dir = join(tmp.dir, 'own-metric');
    mkdirSync(dir, { recursive: true });
    writeCsv(join(dir, 'rows.csv'), 120);
    writeFileSync(join(dir, 'model.mjs'), `${MODEL_MODULE}
export const metrics = {
  top1: ({ tf, outputs, labels }) => tf.cast(tf.equal(tf.argMax(outputs, 1), labels), 'float32'),
  maxLogit: ({ tf, outputs }) => tf.max(outputs, 1),
};
`);
    const job = { name: 'metric', seed: 6, data: { source: 'csv', path: join(dir, 'rows.csv'), label: 'species' }, model: { module: join(dir, 'model.mjs') }, train: { epochs: 3, batchSize: 24, logEvery: 5, optimizer: { name: 'adam', lr: 0.01 }, checkpoint: { keep: 0 } }, cluster: { backend: 'cpu' } };
    const { out, stdout } = await run('metric', job, 2);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { train: Record<string, number>; eval: Record<string, number> };
    expect(summary.eval.top1).toBeCloseTo(summary.eval.accuracy, 9);
    expect(summary.train.top1).toBeCloseTo(summary.train.accuracy, 9);
    expect(Number.isFinite(summary.eval.maxLogit)).toBe(true);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.top1).toBeCloseTo(l.accuracy, 9);
    expect(stdout).toMatch(/eval top1 0\.\d+ {2}eval maxLogit -?\d/);
  });

  it('sigmoid-cross-entropy trains a classifier well above chance', async () => {
    writeCsv(join(tmp.dir, 'sig.csv'), 150);
    const job = { name: 'sig', seed: 2, data: { source: 'csv', path: 'sig.csv', label: 'species' }, model: { zoo: 'mlp', hidden: [16] }, train: { epochs: 15, batchSize: 30, loss: 'sigmoid-cross-entropy', optimizer: { name: 'adam', lr: 0.02 }, checkpoint: { keep: 0 } }, cluster: { backend: 'cpu' } };
    const { out } = await run('sig', job, 2);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { eval: { accuracy: number } };
    expect(summary.eval.accuracy).toBeGreaterThan(0.6);
  });

  it('refusals: mse on classes, loss module without a model module, adversarial with another loss', async () => {
    const base = { name: 'bad', data: { source: 'synthetic', kind: 'blobs' }, model: { zoo: 'mlp' } };
    const refused = async (job: Record<string, unknown>) => {
      const r = await runCli(['run', writeJob(tmp.dir, 'bad.json', job), '--out', join(tmp.dir, 'bad-out'), '--no-progress']);
      expect(r.code).toBe(2);
      return r.stderr;
    };
    expect(await refused({ ...base, train: { loss: 'mse' } })).toContain('train.loss: mse regresses on real-valued labels: data.source csv, npy or module (synthetic has classes)');
    expect(await refused({ ...base, train: { loss: 'module' } })).toContain('train.loss: module takes the loss from the model module (model.module)');
    expect(await refused({ ...base, type: 'adversarial', train: { loss: 'sigmoid-cross-entropy' } })).toContain('train.loss: adversarial training attacks and trains on softmax-cross-entropy only');
    writeFileSync(join(tmp.dir, 'reserved.mjs'), `${MODEL_MODULE}\nexport const metrics = { accuracy: ({ tf, outputs }) => tf.max(outputs, 1) };\n`);
    writeCsv(join(tmp.dir, 'reserved.csv'), 30);
    const r = await runCli(['run', writeJob(tmp.dir, 'reserved.json', { name: 'reserved', data: { source: 'csv', path: 'reserved.csv', label: 'species' }, model: { module: './reserved.mjs' } }), '--out', join(tmp.dir, 'reserved-out'), '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('its metrics may not be named accuracy: dtrain reports figures of those names itself');
  });
});
