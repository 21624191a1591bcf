/**
 * Checkpoints and --resume with real processes: a whole `dtrain run` killed
 * with SIGKILL at a random step, or interrupted with SIGINT, then resumed,
 * ends with the weights of a run that was never disturbed — bit for bit,
 * with the same worker count — for strategy ring, strategy ps and a GAN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointsOf, members, type Recovered, weightsOf } from './helpers/runs.js';
import { CLI, runCli, tempDir, writeJob } from './helpers/cli.js';
import { sleep, until } from './helpers/fake-peer.js';

const tmp = tempDir();
/** Process groups this file started (each `dtrain run` and its workers): killed by id when the file ends. */
const groups = new Set<number>();
afterAll(() => {
  for (const g of groups) killGroup(g);
  tmp.cleanup();
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const blobs = (name: string) => ({
  name,
  seed: 11,
  data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [32, 16], dropout: 0.1 },
  train: { epochs: 12, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, lrDecay: { kind: 'cosine', floor: 0.1 }, logEvery: 10, checkpoint: { every: 40, keep: 3 } },
  cluster: { workers: 2, backend: 'cpu' },
});

const gan = (name: string) => ({
  name,
  type: 'gan',
  seed: 5,
  data: { source: 'synthetic', kind: 'ring8', samples: 2000 },
  generator: { zoo: 'mlp', hidden: [32, 32], output: 'linear' },
  discriminator: { zoo: 'mlp', hidden: [32, 32], activation: 'leakyRelu' },
  gan: { latentDim: 8, evalSamples: 500, generatorOptimizer: { name: 'adam', lr: 0.001, beta1: 0.5 }, discriminatorOptimizer: { name: 'adam', lr: 0.001, beta1: 0.5 } },
  train: { epochs: 50, maxSteps: 300, batchSize: 64, logEvery: 20, checkpoint: { every: 60, keep: 2 } },
  cluster: { workers: 2, backend: 'cpu' },
});

/** Starts `dtrain run` in a process group of its own, so that it and its workers can be killed together. */
function startRun(args: string[]): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, 'run', ...args, '--no-progress'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  groups.add(child.pid!);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

/** metrics.jsonl without the timing fields (samples/s, compute, collective and spread ms), which differ between any two runs. */
function metricsOf(out: string): unknown[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { samplesPerSecond: _s, commMs: _c, computeMs: _m, spreadMs: _d, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

/** Undisturbed runs, by job and flags: several tests compare with the same one. */
const references = new Map<string, Promise<{ out: string; weights: Float32Array[] }>>();

function undisturbed(job: Record<string, unknown>, tag: string, flags: string[] = []): Promise<{ out: string; weights: Float32Array[] }> {
  const key = JSON.stringify([job, flags]);
  if (!references.has(key)) references.set(key, runUndisturbed(job, tag, flags));
  return references.get(key)!;
}

async function runUndisturbed(job: Record<string, unknown>, tag: string, flags: string[]): Promise<{ out: string; weights: Float32Array[] }> {
  const file = writeJob(tmp.dir, `${tag}.json`, job);
  const out = join(tmp.dir, tag);
  const r = await runCli(['run', file, ...flags, '--out', out, '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
  return { out, weights: await weightsOf(out) };
}

/** Starts the job, kills its whole process group once `checkpoints` checkpoints exist plus a random moment, and returns the folder. */
async function killedRun(job: Record<string, unknown>, tag: string, flags: string[], checkpoints: number): Promise<string> {
  const file = writeJob(tmp.dir, `${tag}.json`, job);
  const out = join(tmp.dir, tag);
  const run = startRun([file, ...flags, '--out', out]);
  await until(() => checkpointsOf(out).length >= checkpoints, `${checkpoints} checkpoint(s) of ${tag}`, 60_000);
  const delay = Math.floor(Math.random() * 300);
  await sleep(delay);
  killGroup(run.child.pid!);
  expect(await run.exit).toBe(null); // killed, not finished
  groups.delete(run.child.pid!);
  expect(existsSync(join(out, 'summary.json')), `${tag} finished before the kill`).toBe(false);
  console.log(`${tag}: killed ${delay} ms after checkpoint ${checkpointsOf(out).sort().pop()}`);
  return out;
}

async function resume(out: string, flags: string[] = []): Promise<void> {
  const r = await runCli(['run', '--resume', out, ...flags, '--no-progress']);
  expect(r.code, r.stderr).toBe(0);
  expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).toMatch(/"resume":"[^"]*checkpoints\/step-\d{7}"/);
}

describe('dtrain run --resume after kill -9 of the whole run', () => {
  it('strategy ring: the weights and metrics equal an undisturbed run, bit for bit', async () => {
    const ref = await undisturbed(blobs('ring'), 'ring-ref');
    const out = await killedRun(blobs('ring'), 'ring-killed', [], 1 + Math.floor(Math.random() * 3));
    await resume(out);
    expect(await weightsOf(out)).toEqual(ref.weights);
    expect(metricsOf(out)).toEqual(metricsOf(ref.out));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string; steps: number };
    expect(summary).toMatchObject({ status: 'succeeded', steps: JSON.parse(readFileSync(join(ref.out, 'summary.json'), 'utf8')).steps });
  });

  it('strategy ps with 2 shards: the shards resume their slices and optimizer state', async () => {
    const ps = ['--strategy', 'ps', '--ps-shards', '2'];
    const ref = await undisturbed(blobs('ps'), 'ps-ref', ps);
    const out = await killedRun(blobs('ps'), 'ps-killed', ps, 2);
    await resume(out);
    expect(await weightsOf(out)).toEqual(ref.weights);
  });

  it('batch-norm local: each replica resumes with its own moving statistics', async () => {
    const local = (name: string) => ({ ...blobs(name), model: { ...blobs(name).model, batchNorm: 'local' } });
    const ref = await undisturbed(local('bn'), 'bn-ref');
    const out = await killedRun(local('bn'), 'bn-killed', [], 1 + Math.floor(Math.random() * 3));
    const ck = join(out, 'checkpoints', checkpointsOf(out).sort().pop()!);
    expect(JSON.parse(readFileSync(join(ck, 'checkpoint.json'), 'utf8')).replicaStates).toBe(2);
    await resume(out);
    expect(await weightsOf(out)).toEqual(ref.weights);
    expect(metricsOf(out)).toEqual(metricsOf(ref.out));
  });

  it('a GAN: both networks and both optimizers', async () => {
    const ref = await undisturbed(gan('gan'), 'gan-ref');
    const out = await killedRun(gan('gan'), 'gan-killed', [], 1 + Math.floor(Math.random() * 3));
    await resume(out);
    expect(await weightsOf(out)).toEqual(ref.weights);
  });

  it('the comparison can fail: a checkpoint whose optimizer state is lost resumes to other weights', async () => {
    const ref = await undisturbed(blobs('ring'), 'lost-ref');
    const out = await killedRun(blobs('ring'), 'lost-killed', [], 2);
    for (const d of checkpointsOf(out)) {
      const file = join(out, 'checkpoints', d, 'optimizers.bin');
      const zeros = Buffer.alloc(readFileSync(file).length); // Adam's moments zeroed
      writeFileSync(file, zeros);
      // ...and recorded as written, so that the checkpoint reads back (a damaged file would be passed over).
      const info = join(out, 'checkpoints', d, 'checkpoint.json');
      const meta = JSON.parse(readFileSync(info, 'utf8')) as { files: Record<string, { bytes: number; sha256: string }> };
      meta.files['optimizers.bin'] = { bytes: zeros.length, sha256: createHash('sha256').update(zeros).digest('hex') };
      writeFileSync(info, JSON.stringify(meta));
    }
    await resume(out);
    const [w] = await weightsOf(out);
    expect(w.length).toBe(ref.weights[0].length);
    expect(w).not.toEqual(ref.weights[0]);
  });
});

/** Starts the job, kills one member of the first session at a random step after `checkpoints` checkpoints, and waits for the run to end. */
async function loseMember(job: Record<string, unknown>, tag: string, flags: string[], what: 'worker' | 'ps shard', checkpoints: number): Promise<{ out: string; code: number | null; victim: number }> {
  const file = writeJob(tmp.dir, `${tag}.json`, job);
  const out = join(tmp.dir, tag);
  const run = startRun([file, ...flags, '--out', out]);
  await until(() => checkpointsOf(out).length >= checkpoints, `${checkpoints} checkpoint(s) of ${tag}`, 60_000);
  await sleep(Math.floor(Math.random() * 300));
  const all = members(out, what);
  const victim = all[Math.floor(Math.random() * all.length)];
  process.kill(victim.memberPid, 'SIGKILL');
  const code = await run.exit;
  groups.delete(run.child.pid!);
  console.log(`${tag}: killed ${what} #${victim.rank} (pid ${victim.memberPid})`);
  if (code !== 0) {
    // What went wrong, for the failure that follows: the run's warnings and errors.
    const bad = readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter((l) => /"level":(40|50)/.test(l));
    console.log(`${tag} exited ${code}:\n${bad.slice(-15).join('\n')}\nstderr: ${run.stderr().slice(-2000)}`);
  }
  return { out, code, victim: victim.memberPid };
}

describe('dtrain run restarts a job whose worker or shard is lost, from its latest checkpoint', () => {
  it('a random worker of 3 killed at a random step: every step done, the weights of an undisturbed run', async () => {
    const three = ['--workers', '3'];
    const ref = await undisturbed(blobs('ring'), 'restart-ref', three);
    const { out, code, victim } = await loseMember(blobs('ring'), 'restart-worker', three, 'worker', 1 + Math.floor(Math.random() * 3));
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Recovered;
    expect(summary).toMatchObject({ status: 'succeeded', steps: 480 });
    expect(summary.recoveries).toHaveLength(1);
    expect(summary.recoveries[0].lost).toMatch(new RegExp(`worker #\\d \\(pid ${victim} on [^)]+\\)`));
    expect(summary.recoveries[0].action).toMatch(/^restarted from checkpoint step \d+$/);
    expect(summary.recoveries[0].seconds).toBeGreaterThan(0);
    expect(await weightsOf(out)).toEqual(ref.weights);
  });

  it('a ps shard of 2 killed: the job goes on from the checkpoint and ends with the same weights', async () => {
    const ps = ['--strategy', 'ps', '--ps-shards', '2'];
    const ref = await undisturbed(blobs('ps'), 'restart-ps-ref', ps);
    const { out, code } = await loseMember(blobs('ps'), 'restart-shard', ps, 'ps shard', 1);
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Recovered;
    expect(summary.recoveries.map((r) => r.lost)).toEqual([expect.stringMatching(/^ps shard #\d/)]);
    expect(await weightsOf(out)).toEqual(ref.weights);
  });
});

describe('a lost worker with cluster.maxRestarts 0', () => {
  it('fails the job, which keeps its last checkpoint and names it with the steps done; --resume finishes it exactly', async () => {
    const ref = await undisturbed(blobs('ring'), 'lost-worker-ref');
    const noRestart = { ...blobs('ring'), cluster: { ...blobs('ring').cluster, maxRestarts: 0 } };
    const file = writeJob(tmp.dir, 'lost-worker.json', noRestart);
    const out = join(tmp.dir, 'lost-worker');
    const run = startRun([file, '--out', out]);
    await until(() => checkpointsOf(out).length >= 1, 'a checkpoint', 60_000);
    const worker = members(out, 'worker').find((w) => w.rank === 1)!;
    process.kill(worker.memberPid, 'SIGKILL');
    expect(await run.exit).toBe(1);
    groups.delete(run.child.pid!);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string; steps: number; checkpoint: string; error: string; backend: string };
    expect(summary.status).toBe('failed');
    expect(summary.backend).toBe(blobs('ring').cluster.backend);
    expect(summary.error).toMatch(new RegExp(`worker #1 \\(pid ${worker.memberPid} on [^)]+\\) lost`));
    expect(summary.steps).toBeGreaterThanOrEqual(40);
    expect(summary.checkpoint).toBe(join(out, 'checkpoints', checkpointsOf(out).sort().pop()!));
    await resume(out);
    expect(await weightsOf(out)).toEqual(ref.weights);
  });
});

describe('Ctrl-C', () => {
  it('writes a checkpoint before it ends; the summary names it and the steps done; --resume finishes the job exactly', async () => {
    const ref = await undisturbed(blobs('ring'), 'int-ref');
    const file = writeJob(tmp.dir, 'int.json', { ...blobs('ring'), train: { ...blobs('ring').train, checkpoint: { every: 100000, epochEnd: false, keep: 2 } } });
    const out = join(tmp.dir, 'int');
    const run = startRun([file, '--out', out]);
    await until(() => existsSync(join(out, 'metrics.jsonl')) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').length > 5, 'a few steps', 60_000);
    expect(checkpointsOf(out)).toEqual([]); // none by schedule: the one that follows is Ctrl-C's
    process.kill(run.child.pid!, 'SIGINT');
    expect(await run.exit).toBe(130);
    groups.delete(run.child.pid!);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string; steps: number; checkpoint: string; backend: string };
    expect(summary.status).toBe('cancelled');
    // The backend the workers ran (a summary of a run that ends early said "unknown").
    expect(summary.backend).toBe(blobs('ring').cluster.backend);
    expect(summary.steps).toBeGreaterThan(0);
    expect(summary.checkpoint).toBe(join(out, 'checkpoints', `step-${String(summary.steps).padStart(7, '0')}`));
    expect(checkpointsOf(out)).toEqual([`step-${String(summary.steps).padStart(7, '0')}`]);
    // The job file's checkpoint settings differ from the reference's, which changes nothing computed.
    await resume(out);
    expect(await weightsOf(out)).toEqual(ref.weights);
  });
});

describe('--resume errors', () => {
  it('a folder without checkpoints, or a job file beside --resume, is a usage error that starts nothing', async () => {
    const none = await runCli(['run', '--resume', tmp.dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no checkpoint to resume from in .*checkpoints/);
    const both = await runCli(['run', 'job.yaml', '--resume', tmp.dir]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give no job file with it/);
    const neither = await runCli(['run']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/give a job file, or --resume DIR/);
  });
});
