/**
 * A user's own model module and data (csv, npy, images, a data module),
 * trained by real `dtrain run` processes: 1 worker and 3 workers end with
 * the same weights (within 1e-5), and a run that differs in one setting
 * does not (the comparison can fail). Bad modules and data are clear errors.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { DATA_MODULE, MODEL_MODULE, writeCsv, writeImageFolder, writeNpy } from './helpers/own-data.js';
import { weightsOf } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((w, k) => w.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[k][i])))));
  return m;
}

/** A folder holding the model module and a job file with `data`; returns the job file. */
function project(name: string, data: Record<string, unknown>, setup: (dir: string) => void, extra: Record<string, unknown> = {}): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.mjs'), MODEL_MODULE);
  setup(dir);
  return writeJob(dir, 'job.json', {
    name,
    seed: 5,
    data,
    model: { module: './model.mjs', options: { hidden: 12 } },
    train: { epochs: 3, batchSize: 24, optimizer: { name: 'adam', lr: 0.01 }, logEvery: 5, checkpoint: { keep: 0 } },
    cluster: { backend: 'cpu' },
    ...extra,
  });
}

async function train(file: string, workers: number, tag: string, ...flags: string[]) {
  const out = join(file, '..', `out-${tag}`);
  const r = await runCli(['run', file, '--workers', String(workers), '--out', out, '--no-progress', ...flags]);
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { eval: { accuracy: number }; steps: number };
  return { weights: await weightsOf(out), summary, out };
}

const sources: [string, Record<string, unknown>, (dir: string) => void, number][] = [
  ['csv', { source: 'csv', path: 'train.csv', label: 'species', testFraction: 0.25 }, (d) => writeCsv(join(d, 'train.csv'), 120), 3],
  ['npy', { source: 'npy', x: 'x.npy', y: 'y.npy', testX: 'test-x.npy', testY: 'test-y.npy' }, (d) => (writeNpy(d, '', 96), writeNpy(d, 'test-', 30, 9)), 3],
  ['images', { source: 'images', path: 'pictures', size: [8, 8], channels: 1 }, (d) => writeImageFolder(join(d, 'pictures'), 30), 3],
  ['module', { source: 'module', module: './data.mjs', options: { train: 120, test: 40 } }, (d) => writeFileSync(join(d, 'data.mjs'), DATA_MODULE), 4],
];

describe('a model module with each data source: 1 worker ≡ 3 workers', () => {
  for (const [source, data, setup, classes] of sources) {
    it(source, async () => {
      const file = project(`own-${source}`, data, setup);
      const one = await train(file, 1, '1');
      const three = await train(file, 3, '3');
      expect(one.summary.steps).toBeGreaterThan(5);
      expect(maxDiff(one.weights, three.weights)).toBeLessThanOrEqual(1e-5);
      // It learned: well above chance on the held-out samples.
      expect(one.summary.eval.accuracy).toBeGreaterThan(1.5 / classes);
    });
  }

  it('the comparison can fail: another learning rate with 3 workers differs by far more than 1e-5', async () => {
    const file = join(tmp.dir, 'own-csv', 'job.json');
    const one = await weightsOf(join(tmp.dir, 'own-csv', 'out-1'));
    const other = await train(file, 3, 'lr', '--set', 'train.optimizer.lr=0.02');
    expect(maxDiff(one, other.weights)).toBeGreaterThan(1e-3);
  });

  it('a data module is read by the workers, each only its shards, and never whole', async () => {
    const log = join(tmp.dir, 'reads.txt');
    const file = project('own-reads', { source: 'module', module: './data.mjs', options: { train: 120, test: 40, log } }, (d) => writeFileSync(join(d, 'data.mjs'), DATA_MODULE));
    await train(file, 3, '3');
    const reads = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
    const pids = new Set(reads.map(([pid]) => pid));
    expect(pids.size).toBe(3);
    // 3 epochs of 120 samples in shards of 8 (global batch 24 over 3 workers).
    expect(reads.reduce((n, [, k]) => n + k, 0)).toBe(3 * 120);
    expect(Math.max(...reads.map(([, k]) => k))).toBe(8);
  });
});

describe('examples/own-model (the README\'s example)', () => {
  it('runs from another folder with 1 and 2 workers to the same weights', async () => {
    const job = join(import.meta.dirname, '..', 'examples', 'own-model', 'job.yaml');
    const outs = [1, 2].map((w) => join(tmp.dir, `example-${w}`));
    for (const [i, out] of outs.entries()) {
      const r = await runCli(['run', job, '--workers', String(i + 1), '--set', 'train.epochs=8', '--out', out, '--no-progress'], { cwd: tmp.dir });
      expect(r.code, r.stderr).toBe(0);
    }
    const [a, b] = await Promise.all(outs.map(weightsOf));
    expect(maxDiff(a, b)).toBeLessThanOrEqual(1e-5);
    const summary = JSON.parse(readFileSync(join(outs[0], 'summary.json'), 'utf8')) as { eval: { accuracy: number; count?: number } };
    expect(summary.eval.accuracy).toBeGreaterThan(0.6);
  });
});

describe('bad model modules and data: exit 2 or 1 with the reason, nothing trained', () => {
  const run = async (name: string, model: string | undefined, data?: Record<string, unknown>, setup?: (dir: string) => void) => {
    const file = project(name, data ?? { source: 'csv', path: 'train.csv', label: 'species' }, (d) => {
      writeCsv(join(d, 'train.csv'), 60);
      if (model !== undefined) writeFileSync(join(d, 'model.mjs'), model);
      setup?.(d);
    });
    return runCli(['run', file, '--out', join(file, '..', 'out'), '--no-progress']);
  };

  it('a model module that does not exist', async () => {
    const file = project('bad-missing', { source: 'csv', path: 'train.csv', label: 'species' }, (d) => writeCsv(join(d, 'train.csv'), 60), { model: { module: './nope.mjs' } });
    const r = await runCli(['run', file, '--out', join(file, '..', 'out'), '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/model\.module: no such file: .*nope\.mjs/);
  });

  it('no default export', async () => {
    const r = await run('bad-nodefault', 'export const build = () => null;\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('model.module: the module has no default export');
  });

  it('a default export that returns no model', async () => {
    const r = await run('bad-return', 'export default () => ({ layers: [] });\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('returned Object, not a tf.LayersModel');
  });

  it('an output that is not one logit per class', async () => {
    const r = await run('bad-output', MODEL_MODULE.replace('units: classes', 'units: 7'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the model outputs [7], not one logit per class ([3])');
  });

  it('a CSV cell that is not a number names its line and column', async () => {
    const r = await run('bad-cell', undefined, undefined, (d) => {
      const lines = readFileSync(join(d, 'train.csv'), 'utf8').split('\n');
      lines[7] = lines[7].replace(/^[^,]+/, 'tall');
      writeFileSync(join(d, 'train.csv'), lines.join('\n'));
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/train\.csv: line 8: column "height" is "tall", not a number/);
  });

  it('a label column that is not in the header lists the header', async () => {
    const r = await run('bad-label', undefined, { source: 'csv', path: 'train.csv', label: 'kind' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data.label: no column named "kind" (the header has "height", "width", "species", "depth", "weight")');
  });
});
