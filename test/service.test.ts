/**
 * Service mode end to end: a real nats-server with JetStream, a `dtrain
 * coordinator --nats` process, two `dtrain worker --serve` processes and a
 * `dtrain ps --serve` shard (waiting while jobs do not use it), and
 * jobs submitted by other processes (the public client module, the CLI, and
 * a bare NATS request as a service in another language would send).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtrainClient, type JobProgress, type JobRecord } from '../src/client/index.js';
import type { JobEvent } from '../src/service/job-store.js';
import { API, SUBMISSIONS_STREAM } from '../src/service/subjects.js';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { hasNatsServer } from './helpers/nats-server.js';
import { startServiceCluster, type ServiceCluster } from './helpers/service.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/submit-jobs.mjs', import.meta.url));

const quick = (name: string, seed: number) => ({
  name,
  type: 'supervised',
  seed,
  data: { source: 'synthetic', kind: 'blobs', samples: 512, features: 6, classes: 3 },
  model: { zoo: 'mlp', hidden: [16] },
  train: { maxSteps: 12, batchSize: 32, optimizer: { name: 'adam', lr: 0.01 }, logEvery: 2 },
  cluster: { workers: 2, backend: 'cpu' },
});
/**
 * A job far longer than any test: it is cancelled or interrupted. Its short
 * heartbeat timeout lets workers left in it by a killed coordinator give up
 * soon (the quick jobs keep the default, for a loaded machine).
 */
const long = (name: string) => ({
  ...quick(name, 1),
  train: { ...quick(name, 1).train, maxSteps: 1_000_000, epochs: 100_000 },
  cluster: { ...quick(name, 1).cluster, heartbeatTimeoutMs: 2000 },
});
/** A job that checkpoints every 20 steps and runs long enough to be caught mid-way; workers left in it by a killed coordinator give up soon. */
const resumable = (name: string) => ({
  ...quick(name, 4),
  train: { ...quick(name, 4).train, epochs: 100, maxSteps: 400, checkpoint: { every: 20, keep: 2 } },
  cluster: { ...quick(name, 4).cluster, heartbeatTimeoutMs: 2000 },
});
/** Why jobs ended as they did: the message of a failed state assertion. */
const why = (rs: JobRecord[]) => JSON.stringify(rs.map((r) => [r.id, r.state, r.reason ?? null]));

const at = (r: JobRecord, state: string) => Date.parse(r.history.find((h) => h.state === state)?.at ?? 'NaN');

describe.skipIf(!hasNatsServer)('service mode', () => {
  let cluster: ServiceCluster;
  let client: DtrainClient;
  let nc: NatsConnection;
  const tmp = tempDir();
  const events: JobEvent[] = [];
  const progress: JobProgress[] = [];
  const nats = () => ['--nats', cluster.nats.url];

  beforeAll(async () => {
    cluster = await startServiceCluster(2, 1);
    client = await DtrainClient.connect({ servers: cluster.nats.url });
    nc = await connect({ servers: cluster.nats.url });
    const sub = (subject: string, into: unknown[]) =>
      void (async () => {
        for await (const m of nc.subscribe(subject)) into.push(m.json());
      })();
    sub('dtrain.jobs.*.events', events);
    sub('dtrain.jobs.*.progress', progress);
    await nc.flush();
  });
  afterAll(async () => {
    await client?.close();
    await nc?.close();
    await cluster?.stop();
    killStarted();
    tmp.cleanup();
  });

  it('another process submits 3 jobs; they run one at a time in submission order and succeed, with events and progress', async () => {
    const files = ['svc-a', 'svc-b', 'svc-c'].map((n, i) => writeJob(tmp.dir, `${n}.json`, quick(n, i + 1)));
    const submitter = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, [FIXTURE, cluster.nats.url, ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, out, err }));
    });
    expect(submitter.err).toBe('');
    expect(submitter.code).toBe(0);
    const answers = submitter.out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; seq: number; job?: { state: string } });
    expect(answers.map((a) => [a.id, a.job?.state])).toEqual([['svc-a', 'queued'], ['svc-b', 'queued'], ['svc-c', 'queued']]);
    const done = await Promise.all(answers.map((a) => client.watch(a.id)));
    expect(done.map((r) => r.state), why(done)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // In order, one at a time: each starts after the one before has ended.
    for (let i = 1; i < 3; i++) expect(at(done[i], 'running')).toBeGreaterThanOrEqual(at(done[i - 1], 'succeeded'));
    expect(done.map((r) => r.seq)).toEqual([...done.map((r) => r.seq)].sort((x, y) => x - y));
    for (const r of done) expect(r.history.map((h) => h.state)).toEqual(['queued', 'running', 'succeeded']);
    await nc.flush();
    for (const id of ['svc-a', 'svc-b', 'svc-c']) {
      expect(events.filter((e) => e.id === id).map((e) => e.to)).toEqual(['queued', 'running', 'succeeded']);
      const steps = progress.filter((p): p is Extract<JobProgress, { kind: 'step' }> => p.id === id && p.kind === 'step');
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.at(-1)).toMatchObject({ step: 12, total: 12 });
      expect(steps.every((p) => Number.isFinite(p.loss))).toBe(true);
    }
    // The service ran the job as `dtrain run` runs it: same seed, same workers, same numbers.
    const local = await runCli(['run', files[1], '--out', join(tmp.dir, 'local-b'), '--no-progress']);
    expect(local.code).toBe(0);
    const mine = JSON.parse(readFileSync(join(tmp.dir, 'local-b', 'summary.json'), 'utf8')) as { eval: { loss: number; accuracy: number } };
    const theirs = done[1].summary as { eval: { loss: number; accuracy: number }; steps: number };
    expect(theirs.steps).toBe(12);
    expect(theirs.eval.loss).toBeCloseTo(mine.eval.loss, 6);
    expect(theirs.eval.accuracy).toBe(mine.eval.accuracy);
    expect(JSON.parse(readFileSync(join(cluster.stateDir, 'jobs', 'svc-b', 'summary.json'), 'utf8'))).toEqual(theirs);
  });

  it('status and jobs answer from the CLI, and a job file submitted with --wait shows progress and its summary', async () => {
    const status = await runCli(['status', 'svc-a', ...nats(), '--json']);
    expect(status.code).toBe(0);
    const r = JSON.parse(status.stdout) as JobRecord;
    expect(r).toMatchObject({ id: 'svc-a', name: 'svc-a', state: 'succeeded', output: join(cluster.stateDir, 'jobs', 'svc-a') });
    expect(r.spec).toMatchObject({ name: 'svc-a', train: { maxSteps: 12 } });
    const text = await runCli(['status', 'svc-a', ...nats()]);
    expect(text.stdout).toMatch(/^svc-a {2}svc-a {2}succeeded\n/);
    const jobs = await runCli(['jobs', ...nats(), '--state', 'succeeded']);
    expect(jobs.code).toBe(0);
    expect(jobs.stdout.split('\n').slice(1, 4).map((l) => l.split(/\s+/)[0])).toEqual(['svc-a', 'svc-b', 'svc-c']);
    const waited = await runCli(['submit', writeJob(tmp.dir, 'w.json', quick('svc-wait', 9)), ...nats(), '--id', 'svc-wait', '--wait']);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toBe('');
    expect(waited.stderr).toContain('submitted as job svc-wait (queued)');
    expect(waited.stderr).toContain('svc-wait step 12/12');
    expect(waited.stderr).toMatch(/svc-wait: succeeded in [\d.]+s — 12 steps/);
    // A job of strategy ps takes the waiting shard.
    const ps = await runCli(['submit', writeJob(tmp.dir, 'ps.json', { ...quick('svc-ps', 3), cluster: { workers: 2, backend: 'cpu', strategy: 'ps', ps: { shards: 1 } } }), ...nats(), '--wait', '--id', 'svc-ps']);
    expect(ps.code).toBe(0);
    expect((await client.status('svc-ps')).summary).toMatchObject({ status: 'succeeded', strategy: 'ps', steps: 12 });
    // Watching a job before it is recorded waits for it (a submission may sit in the stream).
    const early = client.watch('svc-late');
    await new Promise((r) => setTimeout(r, 300));
    await client.submit(quick('svc-late', 10), { id: 'svc-late' });
    const late = await early;
    expect(late.state, why([late])).toBe('succeeded');
    const missing = await runCli(['status', 'no-such-job', ...nats()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no job no-such-job');
  });

  it('an invalid job is answered with errors naming the bad keys and removed from the queue', async () => {
    const bad = { ...quick('svc-bad', 1), train: { epochs: 'three', batchSize: 32, optimizer: { name: 'adam', lr: 0.01, betaa: 0.9 } } };
    const cli = await runCli(['submit', writeJob(tmp.dir, 'bad.json', bad), ...nats(), '--id', 'svc-bad']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('bad.json: train.epochs: expected number, got string');
    expect(cli.stderr).toContain('bad.json: train.optimizer.betaa: unknown key');
    // The same through dtrain.api.submit, as any NATS client would send it.
    const reply = (await nc.request(API.submit, JSON.stringify({ id: 'svc-bad2', job: { ...quick('x', 1), cluster: { workers: 0 } } }), { timeout: 10_000 })).json<{ ok: boolean; issues: { key: string }[] }>();
    expect(reply.ok).toBe(false);
    expect(reply.issues.map((i) => i.key)).toEqual(['cluster.workers']);
    const notJson = (await nc.request(API.submit, '{oops', { timeout: 10_000 })).json<{ ok: boolean; error: string }>();
    expect(notJson).toMatchObject({ ok: false });
    expect(notJson.error).toMatch(/not JSON/);
    const ids = (await client.list()).map((j) => j.id);
    expect(ids).not.toContain('svc-bad');
    expect(ids).not.toContain('svc-bad2');
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(SUBMISSIONS_STREAM)).state.messages).toBe(0); // acknowledged: never retried
  });

  it('a job waiting for more workers than are connected says so in status, fails after cluster.joinTimeoutMs, and the next job runs', async () => {
    const big = { ...quick('svc-waits', 13), cluster: { workers: 3, backend: 'cpu', joinTimeoutMs: 4000 } };
    await client.submit(big, { id: 'svc-waits' });
    let seen = '';
    const deadline = Date.now() + 30_000;
    while (!/joined \(2\/3\)/.test(seen)) {
      if (Date.now() > deadline) throw new Error(`status never said what the job waits for:\n${seen}`);
      seen = (await runCli(['status', 'svc-waits', ...nats()])).stdout;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(seen).toMatch(/svc-waits: worker #1 \(pid \d+ on [^)]+\) joined \(2\/3\)/);
    const failed = await client.watch('svc-waits');
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(/only 2 of 3 worker\(s\) joined within cluster\.joinTimeoutMs \(4000 ms\)/);
    await client.submit(quick('svc-after-wait', 14), { id: 'svc-after-wait' });
    const next = await client.watch('svc-after-wait');
    expect(next.state, why([next])).toBe('succeeded');
  });

  it('cancel stops a running job within a step and frees the workers; a queued job is cancelled; priority orders the queue', async () => {
    const first = progress.length;
    await client.submit(long('svc-long'), { id: 'svc-long' });
    await client.submit(quick('svc-low', 4), { id: 'svc-low' });
    await client.submit(quick('svc-high', 5), { id: 'svc-high', priority: 5 });
    await client.submit(quick('svc-dropped', 6), { id: 'svc-dropped' });
    // Running, and training.
    await waitUntil(() => progress.slice(first).some((p) => p.id === 'svc-long' && p.kind === 'step' && p.step >= 20));
    const queued = await runCli(['cancel', 'svc-dropped', ...nats()]);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toBe('svc-dropped: cancelled (cancelled by request)\n');
    const t0 = Date.now();
    const running = await runCli(['cancel', 'svc-long', ...nats(), '--reason', 'test is done with it']);
    const cancelMs = Date.now() - t0;
    expect(running.code).toBe(0);
    expect(running.stdout).toBe('svc-long: cancelled (test is done with it)\n');
    const r = await client.status('svc-long');
    expect(r.state).toBe('cancelled');
    const s = r.summary as { status: string; stoppedAtStep: number; stopRequestedAtStep: number; totalSteps: number };
    expect(s.status).toBe('cancelled');
    expect(s.stopRequestedAtStep).toBeGreaterThanOrEqual(20);
    // Within one step: at most one more step completed after the cancel reached the coordinator.
    expect(s.stoppedAtStep - s.stopRequestedAtStep).toBeLessThanOrEqual(1);
    expect(s.stoppedAtStep).toBeLessThan(s.totalSteps);
    expect(cancelMs).toBeLessThan(10_000);
    // The freed workers run the rest: the higher priority first.
    const [high, low] = await Promise.all([client.watch('svc-high'), client.watch('svc-low')]);
    expect([high.state, low.state], why([high, low])).toEqual(['succeeded', 'succeeded']);
    expect(at(low, 'running')).toBeGreaterThanOrEqual(at(high, 'succeeded'));
    expect(low.seq).toBeLessThan(high.seq);
    expect((await client.status('svc-dropped')).history.map((h) => h.state)).toEqual(['queued', 'cancelled']);
    const again = await runCli(['cancel', 'svc-long', ...nats()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('job svc-long is cancelled already');
  });

  it('a worker killed mid-job: the job goes on from its checkpoint with the other, takes the next --serve process at a step boundary, and succeeds', async () => {
    await client.submit(resumable('svc-lost'), { id: 'svc-lost' });
    const out = join(cluster.stateDir, 'jobs', 'svc-lost');
    const checkpoints = join(out, 'checkpoints');
    await waitUntil(() => existsSync(checkpoints) && readdirSync(checkpoints).some((d) => d.startsWith('step-')));
    const joined = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"worker joined"'))
      .map((l) => JSON.parse(l) as { memberPid: number });
    process.kill(joined[0].memberPid, 'SIGKILL');
    const r = await client.watch('svc-lost');
    expect(r.state, why([r])).toBe('succeeded');
    const s = r.summary as { steps: number; recoveries: { lost: string }[]; regroups: { from: number; to: number }[] };
    expect(s.steps).toBe(400);
    expect(s.recoveries.map((x) => x.lost)).toEqual([expect.stringMatching(new RegExp(`^worker #\\d \\(pid ${joined[0].memberPid} `))]);
    // Back to 2 workers by the end: the --serve worker's next process was taken in.
    expect(s.regroups.at(-1)?.to ?? 2).toBe(2);
  });

  it('a coordinator killed with jobs queued, started again, runs them; the job it was running resumes from its checkpoint and ends as an undisturbed run', async () => {
    await client.submit(resumable('svc-crash'), { id: 'svc-crash' });
    await client.submit(quick('svc-after-1', 7), { id: 'svc-after-1' });
    await client.submit(quick('svc-after-2', 8), { id: 'svc-after-2' });
    const from = progress.length;
    const checkpoints = join(cluster.stateDir, 'jobs', 'svc-crash', 'checkpoints');
    await waitUntil(() => progress.slice(from).some((p) => p.id === 'svc-crash' && p.kind === 'step') && existsSync(checkpoints) && readdirSync(checkpoints).some((d) => d.startsWith('step-')));
    await cluster.killCoordinator();
    expect((await client.list('queued')).map((j) => j.id)).toEqual(['svc-after-1', 'svc-after-2']); // read from the store: no coordinator answers
    // Submitted while no coordinator runs: kept in the stream.
    const whileDown = await runCli(['submit', writeJob(tmp.dir, 'down.json', quick('svc-while-down', 9)), ...nats(), '--id', 'svc-while-down']);
    expect(whileDown.code).toBe(0);
    expect(whileDown.stderr).toContain('no coordinator has taken it yet, it waits in the queue');
    await cluster.startCoordinator();
    const done = await Promise.all(['svc-crash', 'svc-after-1', 'svc-after-2', 'svc-while-down'].map((id) => client.watch(id)));
    expect(done.map((r) => r.state), why(done)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const crashed = done[0].history.map((h) => h.state);
    expect(crashed).toEqual(['queued', 'running', 'queued', 'running', 'succeeded']);
    expect(done[0].history[2].reason).toMatch(/the coordinator stopped while this job ran; it resumes from its checkpoint at step \d+/);
    // The same computation as an undisturbed run of the job.
    const local = await runCli(['run', writeJob(tmp.dir, 'crash-local.json', resumable('svc-crash')), '--out', join(tmp.dir, 'crash-local'), '--no-progress']);
    expect(local.code, local.stderr).toBe(0);
    const mine = JSON.parse(readFileSync(join(tmp.dir, 'crash-local', 'summary.json'), 'utf8')) as { eval: { loss: number } };
    const theirs = done[0].summary as { steps: number; eval: { loss: number; accuracy: number } };
    expect(theirs.steps).toBe(400);
    expect(theirs.eval.loss).toBeCloseTo(mine.eval.loss, 6);
    // The second run started from the checkpoint, not from step 0.
    expect(readFileSync(join(cluster.stateDir, 'jobs', 'svc-crash', 'log.jsonl'), 'utf8')).toMatch(/"resume":"[^"]*step-\d{7}"/);
    expect(at(done[2], 'running')).toBeGreaterThanOrEqual(at(done[1], 'succeeded'));
    expect(at(done[3], 'running')).toBeGreaterThanOrEqual(at(done[2], 'succeeded'));
  });

  it('a nats-server restart while a job runs loses nothing: the job ends recorded, and the next submission is taken', async () => {
    const from = progress.length;
    await client.submit({ ...quick('svc-outage', 11), train: { ...quick('svc-outage', 11).train, maxSteps: 1500, epochs: 1000 } }, { id: 'svc-outage' });
    await waitUntil(() => progress.slice(from).some((p) => p.id === 'svc-outage' && p.kind === 'step'));
    await cluster.nats.restart(); // SIGKILL, then the same port and store
    const done = await client.watch('svc-outage');
    expect(done.state, why([done])).toBe('succeeded');
    expect(done.summary).toMatchObject({ status: 'succeeded', steps: 1500 });
    const after = await client.submit(quick('svc-after-outage', 12), { id: 'svc-after-outage' });
    expect(after.job?.state).toBe('queued');
    const next = await client.watch('svc-after-outage');
    expect(next.state, why([next])).toBe('succeeded');
  });
});

async function waitUntil(ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
