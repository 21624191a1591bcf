/**
 * The package as a library (`import { run, loadModel } from 'dtrain'`,
 * resolved through package.json's exports to the build): a job object runs
 * on local workers and resolves to its summary; progress reaches
 * onProgress; an AbortSignal cancels at a step boundary; the saved model
 * loads and predicts what the run evaluated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { JobCancelledError, loadModel, run, type ProgressEvent } from 'dtrain';
import { loadData } from '../src/data/load.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const data = { source: 'synthetic', kind: 'blobs', samples: 600, features: 4, classes: 3, noise: 1.2 } as const;
const job = (name: string, epochs: number) => ({
  name,
  seed: 4,
  data,
  model: { zoo: 'mlp', hidden: [16] },
  train: { epochs, batchSize: 40, optimizer: { name: 'adam', lr: 0.01 }, logEvery: 5 },
  cluster: { backend: 'cpu' },
});

describe("import { run, loadModel } from 'dtrain'", () => {
  it('runs a job object on 2 workers, reports progress, and the saved model predicts the accuracy the summary gives', async () => {
    const events: ProgressEvent[] = [];
    const out = join(tmp.dir, 'lib-run');
    const summary = await run(job('lib-run', 4), { workers: 2, out, onProgress: (e) => events.push(e) });
    expect(summary.status).toBe('succeeded');
    expect(summary.steps).toBe(60);
    expect(summary.outDir).toBe(out);
    const steps = events.filter((e) => e.kind === 'step');
    expect(steps.length).toBeGreaterThan(3);
    expect(steps.at(-1)).toMatchObject({ step: 60, total: 60 });
    // The saved model, loaded without tfjs-node, gets the evaluation's accuracy on the test split.
    const model = await loadModel(join(out, 'model'));
    const { test } = loadData(data, 4);
    const logits = model.predict(tf.tensor2d(test.x as Float32Array, [test.size, 4])) as tf.Tensor;
    const predicted = await tf.argMax(logits, 1).data();
    const correct = Array.from(predicted).filter((p, i) => p === test.y[i]).length;
    expect(correct / test.size).toBeCloseTo((summary as unknown as { eval: { accuracy: number } }).eval.accuracy, 6);
  });

  it('an AbortSignal cancels the job at a step boundary: run rejects with JobCancelledError, a checkpoint is kept', async () => {
    const ctl = new AbortController();
    const out = join(tmp.dir, 'lib-abort');
    const pending = run(job('lib-abort', 400), {
      out,
      onProgress: (e) => {
        if (e.kind === 'step' && e.step >= 20) ctl.abort();
      },
      signal: ctl.signal,
    });
    await expect(pending).rejects.toBeInstanceOf(JobCancelledError);
    expect(existsSync(join(out, 'checkpoints'))).toBe(true);
  });

  it('logLevel warn: neither the run nor its workers write info lines (the companion run above wrote them)', async () => {
    const quiet = join(tmp.dir, 'lib-quiet');
    await run(job('lib-quiet', 1), { workers: 2, out: quiet, logLevel: 'warn' });
    const levels = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { level: number }).level);
    expect(levels(join(tmp.dir, 'lib-run')).filter((l) => l === 30).length).toBeGreaterThan(3);
    expect(levels(quiet).filter((l) => l < 40)).toEqual([]);
  });

  it('a bad job object is a JobSpecError naming the key', async () => {
    await expect(run({ ...job('lib-bad', 1), train: { epochs: 0 } }, { out: join(tmp.dir, 'lib-bad') })).rejects.toThrow(/train\.epochs/);
  });
});
