/**
 * `--metrics-port`: while a 2-worker `dtrain run` trains, /metrics serves
 * Prometheus text that `promtool check metrics` passes (Debian package
 * prometheus; skipped without it), with step and sample counters that grow
 * and agree (50 samples a step) and a compute histogram for each worker.
 * promtool is shown to fail on a counter named against the conventions.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, startCli, tempDir, waitForOutput, writeJob } from './helpers/cli.js';
import { withDeadline } from './helpers/fake-peer.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const promtool = (text: string) => spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe.skipIf(!hasPromtool)('Prometheus metrics (promtool from Debian prometheus)', () => {
  it('promtool fails a counter named against the conventions (the check can fail)', () => {
    expect(promtool('# HELP dtrain_steps Steps.\n# TYPE dtrain_steps counter\ndtrain_steps 3\n').status).not.toBe(0);
  });

  it('a run with --metrics-port 0: /metrics passes promtool, its counters grow and agree, each worker has its histograms', async () => {
    const job = { name: 'prom', seed: 1, data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3 }, model: { zoo: 'mlp', hidden: [32] }, train: { epochs: 40, batchSize: 50, logEvery: 20, evalEvery: 200 }, cluster: { workers: 2, backend: 'cpu' } };
    const run = startCli(['run', writeJob(tmp.dir, 'prom.json', job), '--out', join(tmp.dir, 'prom'), '--metrics-port', '0']);
    const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(await waitForOutput(run.child, /metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/))![1];
    const scrape = async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(200);
      return res.text();
    };
    let first = await scrape();
    for (const deadline = Date.now() + 30_000; !(value(first, 'dtrain_steps_total') > 0); first = await scrape()) {
      if (Date.now() > deadline) throw new Error('no step counted within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const second = await scrape();
    for (const text of [first, second]) {
      const checked = promtool(text);
      expect(checked.status, `${checked.stdout}${checked.stderr}`).toBe(0);
      expect(value(text, 'dtrain_samples_total')).toBe(50 * value(text, 'dtrain_steps_total'));
    }
    expect(value(second, 'dtrain_steps_total')).toBeGreaterThan(value(first, 'dtrain_steps_total'));
    for (const w of ['0', '1']) {
      for (const h of ['compute_seconds', 'wait_seconds', 'allreduce_seconds', 'allreduce_bytes']) expect(second).toMatch(new RegExp(`^dtrain_worker_${h}_count\\{worker="${w}"\\} [1-9]`, 'm'));
      // The bytes a worker sums a step: the MLP's gradient, 4 × (4·32 + 32 + 32·3 + 3) = 1036 bytes, every step.
      const steps = value(second, `dtrain_worker_allreduce_bytes_count{worker="${w}"}`);
      expect(value(second, `dtrain_worker_allreduce_bytes_sum{worker="${w}"}`)).toBe(1036 * steps);
    }
    expect(value(second, 'dtrain_dropped_messages_total{process="coordinator"}') || 0).toBe(0);
    expect(second).toMatch(/^dtrain_recoveries_total 0$/m);
    expect(value(second, 'dtrain_coordinator_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    const r = await withDeadline(run.done, 120_000, 'the run');
    expect(r.code, r.stderr).toBe(0);
    // The server ends with the run.
    await expect(fetch(url, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
  });
});
