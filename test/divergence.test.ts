/**
 * A run whose training diverges (the loss becomes NaN) fails at that step
 * with a message that says so and what to change. Before, the workers'
 * `stepDone` carrying NaN was dropped as malformed and the coordinator
 * waited for it for ever (the run hung).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, startCli, tempDir, writeJob } from './helpers/cli.js';
import { withDeadline } from './helpers/fake-peer.js';

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
