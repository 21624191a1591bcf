/**
 * Cluster mode keeps a job's work (real processes, ZeroMQ on 127.0.0.1):
 * `dtrain coordinator` with separately started `dtrain worker` and
 * `dtrain ps` processes. A member killed with SIGKILL at a random step ends
 * the session; the survivors join again, a replacement takes the lost one's
 * place, and the job goes on from its latest checkpoint. A coordinator
 * killed with SIGKILL is continued by `dtrain coordinator --resume DIR`,
 * which its waiting workers join. Each ends with the weights of an
 * undisturbed `dtrain run` of the same job, bit for bit.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killStarted, runCli, startCli, stopProcess, tempDir, writeJob, type CliResult } from './helpers/cli.js';
import { sleep, until, withDeadline } from './helpers/fake-peer.js';
import { checkpointsOf, members, summaryOf, weightsOf, type Recovered } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const blobs = (name: string, workers: number) => ({
  name,
  seed: 11,
  data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [32, 16], dropout: 0.1 },
  train: { epochs: 30, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, lrDecay: { kind: 'cosine', floor: 0.1 }, logEvery: 10, checkpoint: { every: 40, keep: 3 } },
  // A short heartbeat: a killed member is noticed in 2 s (it changes no number of the job).
  cluster: { workers, backend: 'cpu', heartbeatTimeoutMs: 2000, joinTimeoutMs: 60_000 },
});
const STEPS = 1200;

async function undisturbed(job: Record<string, unknown>, tag: string, flags: string[] = []): Promise<Float32Array[]> {
  const out = join(tmp.dir, tag);
  const r = await runCli(['run', writeJob(tmp.dir, `${tag}.json`, job), ...flags, '--out', out, '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
  return weightsOf(out);
}

interface Cluster {
  endpoint: string;
  out: string;
  coordinator: { child: ChildProcess; done: Promise<CliResult> };
  /** Starts a `dtrain worker` (or `dtrain ps`) with its own log file. */
  add(role: 'worker' | 'ps', extra?: string[]): { child: ChildProcess; done: Promise<CliResult> };
}

async function cluster(job: Record<string, unknown>, tag: string, flags: string[] = []): Promise<Cluster> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const out = join(tmp.dir, tag);
  const coordinator = startCli(['coordinator', writeJob(tmp.dir, `${tag}.json`, job), ...flags, '--bind', endpoint, '--out', out, '--no-progress']);
  let n = 0;
  const add = (role: 'worker' | 'ps', extra: string[] = []) => startCli([role, '--connect', endpoint, '--log-file', join(tmp.dir, `${tag}-${role}-${n++}.jsonl`), ...extra]);
  return { endpoint, out, coordinator, add };
}

/** Waits for a checkpoint or more, then a random moment. */
async function randomStep(out: string): Promise<void> {
  await until(() => checkpointsOf(out).length >= 1 + Math.floor(Math.random() * 2), 'a checkpoint', 60_000);
  await sleep(Math.floor(Math.random() * 300));
  expect(existsSync(join(out, 'summary.json')), 'the job finished before the kill').toBe(false);
}

async function finished(c: Cluster): Promise<void> {
  const r = await withDeadline(c.coordinator.done, 120_000, 'the coordinator');
  expect(r.code, r.stderr).toBe(0);
}

describe('dtrain coordinator goes on after a lost member', () => {
  it('a random worker of 3 killed at a random step; a spare standing by takes its place: the weights of an undisturbed run', async () => {
    const ref = undisturbed(blobs('ring', 3), 'ring-ref', ['--workers', '3']);
    const c = await cluster(blobs('ring', 3), 'ring-lost');
    const workers = [c.add('worker'), c.add('worker'), c.add('worker')];
    workers.push(c.add('worker')); // a fourth: the job has all it needs, so it waits
    await until(() => existsSync(join(c.out, 'log.jsonl')) && /a spare worker waits for a place in the job/.test(readFileSync(join(c.out, 'log.jsonl'), 'utf8')), 'the spare', 60_000);
    await randomStep(c.out);
    const first = members(c.out, 'worker');
    const victim = first[Math.floor(Math.random() * first.length)];
    process.kill(victim.memberPid, 'SIGKILL');
    await finished(c);
    const summary = summaryOf(c.out);
    expect(summary).toMatchObject({ status: 'succeeded', steps: STEPS, regroups: [] });
    expect(summary.recoveries).toHaveLength(1);
    expect(summary.recoveries[0].lost).toMatch(new RegExp(`^worker #${victim.rank} \\(pid ${victim.memberPid} on [^)]+\\)$`));
    expect(summary.recoveries[0].action).toMatch(/^restarted from checkpoint step \d+$/);
    // The second session: the two survivors and the spare.
    const second = members(c.out, 'worker').slice(3).map((w) => w.memberPid);
    expect(second.sort()).toEqual(workers.map((w) => w.child.pid).filter((p) => p !== victim.memberPid).sort());
    expect(await weightsOf(c.out)).toEqual(await ref);
    for (const w of workers) if (w.child.pid !== victim.memberPid) expect((await w.done).code).toBe(0);
  });

  it('a worker of 3 killed with none to replace it: the job goes on with 2, takes a worker started later at a step boundary, and ends near the undisturbed weights', async () => {
    const ref = undisturbed(blobs('ring', 3), 'shrink-ref', ['--workers', '3']);
    const c = await cluster(blobs('ring', 3), 'shrink');
    const workers = [c.add('worker'), c.add('worker'), c.add('worker')];
    await randomStep(c.out);
    const victim = members(c.out, 'worker')[2];
    process.kill(victim.memberPid, 'SIGKILL');
    await until(() => members(c.out, 'worker').length === 5, 'the two survivors joining again', 60_000);
    workers.push(c.add('worker'));
    await finished(c);
    const summary = summaryOf<Recovered & { regroups: { step: number; from: number; to: number }[]; workers: number; eval: { accuracy: number } }>(c.out);
    expect(summary).toMatchObject({ status: 'succeeded', steps: STEPS, workers: 3 });
    expect(summary.recoveries.map((r) => r.action)).toEqual([expect.stringMatching(/^restarted from checkpoint step \d+ with 2 worker\(s\)$/)]);
    expect(summary.regroups.map((g) => [g.from, g.to])).toEqual([
      [3, 2],
      [2, 3],
    ]);
    expect(summary.regroups[1].step).toBeGreaterThan(summary.regroups[0].step);
    // Steps with 2 workers sum the same global batch in another order: equal within float32 rounding, not bit for bit.
    const [w] = await weightsOf(c.out);
    const [r] = await ref;
    const scale = Math.max(...r.map(Math.abs));
    const diff = Math.max(...w.map((v, i) => Math.abs(v - r[i]))) / scale;
    console.log(`shrink and grow: max |Δw| / max |w| = ${diff.toExponential(2)} after ${STEPS} steps`);
    expect(diff).toBeLessThan(1e-5);
    expect(w).not.toEqual(r);
    const undisturbedSummary = summaryOf<{ eval: { accuracy: number } }>(join(tmp.dir, 'shrink-ref'));
    expect(Math.abs(summary.eval.accuracy - undisturbedSummary.eval.accuracy)).toBeLessThanOrEqual(0.01);
    for (const x of workers) if (x.child.pid !== victim.memberPid) expect((await x.done).code).toBe(0);
  });

  it('a ps shard of 2 killed: dtrain ps --serve starts the next shard process, which joins; the same weights', async () => {
    const ps = ['--strategy', 'ps', '--ps-shards', '2'];
    const ref = undisturbed(blobs('ps', 2), 'ps-ref', ps);
    const c = await cluster(blobs('ps', 2), 'ps-lost', ps);
    const shards = [c.add('ps', ['--serve']), c.add('ps', ['--serve'])];
    const workers = [c.add('worker'), c.add('worker')];
    await randomStep(c.out);
    const victim = members(c.out, 'ps shard')[Math.floor(Math.random() * 2)];
    process.kill(victim.memberPid, 'SIGKILL');
    await finished(c);
    const summary = summaryOf(c.out);
    expect(summary).toMatchObject({ status: 'succeeded', steps: STEPS });
    expect(summary.recoveries.map((r) => r.lost)).toEqual([expect.stringMatching(new RegExp(`^ps shard #${victim.rank} \\(pid ${victim.memberPid} `))]);
    expect(members(c.out, 'ps shard')).toHaveLength(4);
    expect(await weightsOf(c.out)).toEqual(await ref);
    for (const w of workers) expect((await w.done).code).toBe(0);
    await Promise.all(shards.map((s) => stopProcess(s.child)));
  });

  it('the coordinator killed at a random step; dtrain coordinator --resume DIR: the waiting workers join it, the same weights', async () => {
    const ref = undisturbed(blobs('ring', 2), 'coord-ref', ['--workers', '2']);
    const c = await cluster(blobs('ring', 2), 'coord-lost');
    const workers = [c.add('worker'), c.add('worker')];
    await randomStep(c.out);
    c.coordinator.child.kill('SIGKILL');
    await c.coordinator.done;
    await sleep(500);
    const again = startCli(['coordinator', '--resume', c.out, '--bind', c.endpoint, '--no-progress']);
    const r = await withDeadline(again.done, 120_000, 'the resumed coordinator');
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(c.out)).toMatchObject({ status: 'succeeded', steps: STEPS, recoveries: [] });
    expect(readFileSync(join(c.out, 'log.jsonl'), 'utf8')).toMatch(/"resume":"[^"]*checkpoints\/step-\d{7}"/);
    expect(await weightsOf(c.out)).toEqual(await ref);
    for (const w of workers) expect((await w.done).code).toBe(0);
    for (const w of workers) expect(readFileSync(w.child.spawnargs[w.child.spawnargs.indexOf('--log-file') + 1], 'utf8')).toMatch(/lost the coordinator: joining again/);
  });

  it('below cluster.minWorkers the job waits for workers, then fails after cluster.joinTimeoutMs keeping its last checkpoint', async () => {
    const job = blobs('floor', 2);
    const c = await cluster({ ...job, cluster: { ...job.cluster, minWorkers: 2, joinTimeoutMs: 3000 } }, 'floor');
    const workers = [c.add('worker'), c.add('worker')];
    await randomStep(c.out);
    const victim = members(c.out, 'worker')[1];
    process.kill(victim.memberPid, 'SIGKILL');
    const r = await withDeadline(c.coordinator.done, 60_000, 'the coordinator');
    expect(r.code).toBe(1);
    const summary = summaryOf<Recovered & { checkpoint: string; error: string }>(c.out);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/only 1 of 2 worker\(s\) joined within cluster\.joinTimeoutMs \(3000 ms\)/);
    expect(summary.checkpoint).toMatch(/checkpoints\/step-\d{7}$/);
    expect(existsSync(summary.checkpoint)).toBe(true);
    expect(summary.recoveries).toHaveLength(1);
    for (const w of workers) if (w.child.pid !== victim.memberPid) expect((await w.done).code).toBe(0);
  });

  it('a worker whose coordinator does not come back gives up after --coordinator-timeout, naming it', async () => {
    const c = await cluster(blobs('ring', 1), 'coord-gone');
    const w = c.add('worker', ['--coordinator-timeout', '2']);
    await until(() => checkpointsOf(c.out).length >= 1, 'a checkpoint', 60_000);
    c.coordinator.child.kill('SIGKILL');
    const t0 = Date.now();
    const r = await withDeadline(w.done, 30_000, 'the worker');
    expect(r.code).toBe(1);
    // Silent for the heartbeat timeout (2 s), then 2 s of joining again.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3500);
    const log = readFileSync(w.child.spawnargs[w.child.spawnargs.indexOf('--log-file') + 1], 'utf8');
    expect(log).toContain(`no coordinator at ${c.endpoint} for 2 s: giving up (--coordinator-timeout)`);
  });
});
