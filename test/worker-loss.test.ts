/** A worker or ps shard killed mid-run fails the job quickly and visibly, and nothing is left running. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, startCli, tempDir, writeJob, type CliResult } from './helpers/cli.js';
import { joinedSoFar } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const longJob = {
  name: 'long',
  seed: 3,
  data: { source: 'synthetic', kind: 'blobs', samples: 20000, features: 16, classes: 4 },
  model: { zoo: 'mlp', hidden: [64, 64] },
  train: { epochs: 1000, batchSize: 64, optimizer: { name: 'sgd', lr: 0.01 } },
  // The failure path: no restart from a checkpoint (restarts are tested in resume.test.ts).
  cluster: { backend: 'cpu', maxRestarts: 0 },
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const joinedWorkers = (out: string) => joinedSoFar(out, 'worker');

function untilTraining(out: string): Promise<true> {
  return until('training steps', () => {
    const m = join(out, 'metrics.jsonl');
    return existsSync(m) && readFileSync(m, 'utf8').split('\n').length > 3 ? true : undefined;
  });
}

/** SIGKILLs `pid` and waits (at most 15 s) for the run to end: its result and how long that took. */
async function killAndAwait(pid: number, run: ReturnType<typeof startCli>): Promise<{ r: CliResult; ms: number }> {
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  const r = await Promise.race([run.done, new Promise<null>((res) => setTimeout(() => res(null), 15_000))]);
  if (r === null) run.child.kill('SIGKILL');
  expect(r, 'the run did not end within 15 s').not.toBeNull();
  return { r: r!, ms: Date.now() - killedAt };
}

describe('losing a worker', () => {
  for (const victim of [1, 0]) {
    it(`killing worker #${victim} of 3 mid-run exits non-zero within 10 s, naming it`, async () => {
      const out = join(tmp.dir, `out-${victim}`);
      const run = startCli(['run', writeJob(tmp.dir, `long-${victim}.json`, longJob), '--workers', '3', '--out', out, '--no-progress']);
      const workers = await until('three workers to join', () => {
        const w = joinedWorkers(out);
        return w.length === 3 ? w : undefined;
      });
      await untilTraining(out);
      const target = workers.find((w) => w.rank === victim)!;
      const { r, ms } = await killAndAwait(target.memberPid, run);
      expect(ms).toBeLessThan(10_000);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`worker #${victim} \\(pid ${target.memberPid} on [^)]+\\) lost: process killed by SIGKILL`));
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
      expect(summary.status).toBe('failed');
      expect(summary.error).toContain(`pid ${target.memberPid}`);
      for (const w of workers) expect(alive(w.memberPid), `worker pid ${w.memberPid} still running`).toBe(false);
    });
  }

  it('killing a ps shard mid-run exits non-zero within 10 s, naming it, and stops every process', async () => {
    const out = join(tmp.dir, 'out-ps');
    const args = ['run', writeJob(tmp.dir, 'long-ps.json', longJob), '--workers', '2', '--strategy', 'ps', '--ps-shards', '2', '--out', out, '--no-progress'];
    const run = startCli(args);
    await untilTraining(out);
    const shards = joinedSoFar(out, 'ps shard');
    const workers = joinedWorkers(out);
    expect(shards.length).toBe(2);
    const target = shards.find((s) => s.rank === 1)!;
    const { r, ms } = await killAndAwait(target.memberPid, run);
    expect(ms).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`ps shard #1 \\(pid ${target.memberPid} on [^)]+\\) lost: process killed by SIGKILL`));
    for (const m of [...shards, ...workers]) expect(alive(m.memberPid), `pid ${m.memberPid} still running`).toBe(false);
  });

  it('Ctrl-C (SIGINT) stops the job and every worker process, exit 130', async () => {
    const out = join(tmp.dir, 'out-int');
    const { child, done } = startCli(['run', writeJob(tmp.dir, 'long-int.json', longJob), '--workers', '2', '--out', out, '--no-progress']);
    const workers = await until('two workers to join', () => {
      const w = joinedWorkers(out);
      return w.length === 2 ? w : undefined;
    });
    await until('training steps', () => (existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').length > 0 ? true : undefined));
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted by SIGINT/);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status).toBe('cancelled');
    for (const w of workers) expect(alive(w.memberPid), `worker pid ${w.memberPid} still running`).toBe(false);
  });

  it('a step longer than the heartbeat timeout is not mistaken for a dead worker', async () => {
    const slow = {
      name: 'slow-steps',
      seed: 4,
      data: { source: 'synthetic', kind: 'blobs', samples: 512, features: 784, classes: 10 },
      model: { zoo: 'mlp', hidden: [1024, 1024] },
      train: { maxSteps: 3, batchSize: 256, logEvery: 1 },
      cluster: { backend: 'cpu', heartbeatTimeoutMs: 500 }, // cpu on purpose: steps must be slow
    };
    const out = join(tmp.dir, 'out-slow');
    const r = await startCli(['run', writeJob(tmp.dir, 'slow.json', slow), '--workers', '2', '--out', out, '--no-progress']).done;
    expect(r.stderr).not.toMatch(/lost/);
    expect(r.code).toBe(0);
    // The test means something only if a step's compute outlasted the timeout.
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const stepSeconds = 256 / lines[lines.length - 1].samplesPerSecond;
    expect(stepSeconds).toBeGreaterThan(0.5);
  });
});
