/**
 * A run whose training diverges (the loss becomes NaN) fails at that step
 * with a message that says so and what to change. Before, the workers'
 * `stepDone` carrying NaN was dropped as malformed and the coordinator
 * waited for it for ever (the run hung).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, startCli, tempDir, writeJob } from './helpers/cli.js';
import { withDeadline } from './helpers/fake-peer.js';
import { weightsOf } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

describe('divergence', () => {
  for (const workers of [1, 2]) {
    it(`lr 1e9, ${workers} worker(s): the job fails at the step whose loss is NaN, saying training diverged (exit 1), instead of hanging`, async () => {
      const job = {
        name: `diverge-${workers}`,
        seed: 1,
        data: { source: 'synthetic', kind: 'blobs', samples: 400, features: 4, classes: 3 },
        model: { zoo: 'mlp', hidden: [8] },
        train: { epochs: 2, batchSize: 20, optimizer: { name: 'sgd', lr: 1e9 }, logEvery: 1 },
        cluster: { workers, backend: 'cpu' },
      };
      const out = join(tmp.dir, `out-${workers}`);
      const run = startCli(['run', writeJob(tmp.dir, `d${workers}.json`, job), '--out', out, '--no-progress', '--insecure']);
      const r = await withDeadline(run.done, 60_000, 'the diverging run');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/step \d+: the loss is NaN: training diverged\. Lower train\.optimizer\.lr \(now 1000000000\)/);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.status).toBe('failed');
      expect(summary.error).toMatch(/training diverged/);
    });
  }
});

/** A data module whose sample 7 has a NaN feature: the step whose batch holds it has a NaN loss, once an epoch. */
const POISONED = `
export default function ({ options }) {
  const n = options.samples;
  const sample = (k) => [k % 3 === 0 ? 2 : 0, k % 3 === 1 ? 2 : 0, k % 3 === 2 ? 2 : 0, ((k * 37) % 11) / 11];
  const split = (len, salt) => ({
    length: len,
    read: (ix) => ({ x: Array.from(ix).flatMap((k) => (salt === 0 && k === 7 ? [NaN, 0, 0, 0] : sample(k + salt))), y: Array.from(ix, (k) => (k + salt) % 3) }),
  });
  return { train: split(n, 0), test: split(60, 1000), featureShape: [4], classes: 3 };
}
`;

describe('train.onNonFinite: skip-step', () => {
  const job = (name: string, workers: number, onNonFinite: string, batchNorm = 'none') => ({
    name,
    seed: 2,
    data: { source: 'module', module: './poisoned.mjs', options: { samples: 120 } },
    model: { zoo: 'mlp', hidden: [8], batchNorm },
    train: { epochs: 3, batchSize: 24, optimizer: { name: 'adam', lr: 0.01 }, onNonFinite, logEvery: 1, checkpoint: { keep: 0 } },
    cluster: { workers, backend: 'cpu' },
  });
  const runJob = async (name: string, workers: number, onNonFinite: string, batchNorm?: string) => {
    writeFileSync(join(tmp.dir, 'poisoned.mjs'), POISONED);
    const out = join(tmp.dir, name);
    const r = await withDeadline(startCli(['run', writeJob(tmp.dir, `${name}.json`, job(name, workers, onNonFinite, batchNorm)), '--out', out, '--no-progress']).done, 60_000, name);
    return { r, out, summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string; skippedSteps?: number; steps: number } };
  };

  it('skips the step of each epoch whose batch holds the NaN sample, on every worker alike: 1 worker = 2 workers, the job succeeds', async () => {
    const one = await runJob('skip-1', 1, 'skip-step');
    expect(one.r.code, one.r.stderr).toBe(0);
    // Sample 7 is in one batch an epoch: 3 epochs, 3 steps skipped of 15.
    expect(one.summary).toMatchObject({ status: 'succeeded', steps: 15, skippedSteps: 3 });
    const logged = readFileSync(join(one.out, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.includes('the step was skipped'));
    expect(logged).toHaveLength(3);
    const two = await runJob('skip-2', 2, 'skip-step');
    expect(two.r.code, two.r.stderr).toBe(0);
    expect(two.summary.skippedSteps).toBe(3);
    const [a, b] = [await weightsOf(one.out), await weightsOf(two.out)];
    const diff = Math.max(...a.flatMap((w, k) => Array.from(w, (v, i) => Math.abs(v - b[k][i]))));
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(a.every((w) => w.every(Number.isFinite))).toBe(true);
  });

  it('with synchronized batch-norm, a skipped step leaves the moving statistics as they were (its NaN ones would skip every later step)', async () => {
    const bn = await runJob('skip-bn', 2, 'skip-step', 'sync');
    expect(bn.r.code, bn.r.stderr).toBe(0);
    expect(bn.summary.skippedSteps).toBe(3);
    expect((await weightsOf(bn.out)).every((w) => w.every(Number.isFinite))).toBe(true);
  });

  it('the default (fail) ends the same job at the first such step', async () => {
    const failed = await runJob('skip-fail', 2, 'fail');
    expect(failed.r.code).toBe(1);
    expect(failed.r.stderr).toMatch(/step \d+: the loss is NaN: training diverged/);
    expect(failed.summary.status).toBe('failed');
  });
});
