/**
 * Service mode serves Prometheus metrics always (here on --metrics-port 0)
 * and, with --dashboard, the list of every job in the store with its
 * state. A job submitted and run shows in both: dtrain_jobs{state} and the
 * queue depth (promtool passes the text), the steps counted, and the
 * dashboard's list and job page data with its curve.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { hasNatsServer } from './helpers/nats-server.js';
import { startServiceCluster, type ServiceCluster } from './helpers/service.js';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const tmp = tempDir();
let cluster: ServiceCluster;

describe.skipIf(!hasNatsServer || !hasPromtool)('service mode: metrics always on, the dashboard of every job (nats-server and promtool)', () => {
  beforeAll(async () => {
    cluster = await startServiceCluster(2, 0, ['--metrics-port', '0', '--dashboard', '0']);
  });
  afterAll(async () => {
    await cluster?.stop();
    killStarted();
    tmp.cleanup();
  });

  it('a job run from the queue shows in the metrics and on the dashboard', async () => {
    const out = cluster.coordinatorOutput();
    const metrics = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(out)?.[1];
    const dashboard = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    expect(metrics, out).toBeDefined();
    expect(dashboard, out).toBeDefined();
    const scrape = async () => (await fetch(metrics!, { signal: AbortSignal.timeout(10_000) })).text();
    const before = await scrape();
    expect(before).toMatch(/^dtrain_queue_depth 0$/m);
    expect(before).toMatch(/^dtrain_jobs\{state="succeeded"\} 0$/m);

    const job = { name: 'watched', seed: 4, data: { source: 'synthetic', kind: 'blobs', samples: 400, features: 4, classes: 3 }, model: { zoo: 'mlp', hidden: [8] }, train: { batchSize: 40, epochs: 2, logEvery: 2 }, cluster: { workers: 2, backend: 'cpu' } };
    const r = await runCli(['submit', writeJob(tmp.dir, 'watched.json', job), '--nats', cluster.nats.url, '--id', 'watched', '--wait', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);

    const after = await scrape();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(after).toMatch(/^dtrain_jobs\{state="succeeded"\} 1$/m);
    expect(after).toMatch(/^dtrain_queue_depth 0$/m);
    expect(after).toMatch(/^dtrain_steps_total 20$/m);
    expect(after).toMatch(/^dtrain_samples_total 800$/m);

    const list = (await (await fetch(`${dashboard}api/jobs`)).json()) as { id: string; name: string; status: string; step: number }[];
    expect(list).toContainEqual(expect.objectContaining({ id: 'watched', name: 'watched', status: 'succeeded', step: 20 }));
    const page = (await (await fetch(`${dashboard}api/jobs/watched`)).json()) as { series: { train: { step: number; loss: number }[]; eval: { step: number }[] }; workers: { rank: number }[] };
    expect(page.series.train.map((p) => p.step)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(page.series.eval.at(-1)?.step).toBe(20);
    expect(page.workers.map((w) => w.rank)).toEqual([0, 1]);
    expect((await fetch(`${dashboard}jobs/watched`)).headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${dashboard}api/jobs/none`)).status).toBe(404);
    expect((await fetch(`${dashboard}api/jobs`, { method: 'POST' })).status).toBe(405);
  });
});
