/**
 * `npm run bench -- chaos [--runs 20] [--job ring|ps|gan] [--mode run|cluster]`:
 * kill -9 a random member of a job at a random moment of its training, many
 * times, and count the runs that still finish every step with the weights
 * of an undisturbed run (bit for bit, same worker count) and within 1e-5 of
 * one process training the same global batches. Jobs: `ring` (3 workers, a
 * worker killed), `ps` (3 workers and 2 shards, a worker or a shard
 * killed), `gan` (2 workers, a worker killed). Modes: `run` (dtrain run,
 * which restarts its processes), `cluster` (dtrain coordinator with
 * `dtrain worker --serve` and `dtrain ps --serve` processes: the job goes on
 * with the members left and takes the killed one's next process back in).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { readAllParams } from '../src/tensor/flat.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';
import { flag } from './args.js';

const CLI = fileURLToPath(new URL('../../bin/dtrain.js', import.meta.url));

const blobs = {
  name: 'chaos',
  seed: 11,
  data: { source: 'synthetic', kind: 'blobs', samples: 3000, features: 8, classes: 4, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [32, 16] },
  train: { epochs: 10, batchSize: 60, optimizer: { name: 'adam', lr: 0.003 }, logEvery: 10, checkpoint: { every: 50, keep: 2 } },
  cluster: { workers: 3, backend: 'cpu', maxRestarts: 3 },
};

const jobs: Record<string, { job: Record<string, unknown>; flags: string[]; members: string[]; nets: string[] }> = {
  ring: { job: blobs, flags: [], members: ['worker'], nets: ['model'] },
  ps: { job: blobs, flags: ['--strategy', 'ps', '--ps-shards', '2'], members: ['worker', 'ps shard'], nets: ['model'] },
  gan: {
    job: {
      name: 'chaos-gan',
      type: 'gan',
      seed: 5,
      data: { source: 'synthetic', kind: 'ring8', samples: 2000 },
      generator: { zoo: 'mlp', hidden: [32, 32], output: 'linear' },
      discriminator: { zoo: 'mlp', hidden: [32, 32], activation: 'leakyRelu' },
      gan: { latentDim: 8, evalSamples: 500 },
      train: { epochs: 50, maxSteps: 300, batchSize: 64, logEvery: 20, checkpoint: { every: 60, keep: 2 } },
      cluster: { workers: 2, backend: 'cpu', maxRestarts: 3 },
    },
    flags: [],
    members: ['worker'],
    nets: ['generator', 'discriminator'],
  },
};

async function weights(out: string, nets: string[]): Promise<Float32Array> {
  const parts = await Promise.all(nets.map(async (n) => readAllParams([await tfl.loadLayersModel(fileLoadHandler(join(out, n)))])));
  const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return all;
}

/** max |a − b| / max |b|: the project's relative difference (test/helpers/reference.ts). */
const maxRelDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0) / b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function run(dir: string, tag: string, job: Record<string, unknown>, flags: string[]): string {
  const out = join(dir, tag);
  writeFileSync(join(dir, `${tag}.json`), JSON.stringify(job));
  execFileSync(process.execPath, [CLI, 'run', join(dir, `${tag}.json`), ...flags, '--out', out, '--no-progress'], { stdio: 'ignore' });
  return out;
}

interface Summary {
  status: string;
  steps: number;
  recoveries?: { seconds: number }[];
  regroups?: { from: number; to: number }[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The processes of one run: `dtrain run`, or a coordinator with --serve workers and shards. Returns them, the coordinator (or run) first. */
async function start(out: string, file: string, job: Record<string, unknown>, flags: string[], mode: string): Promise<ChildProcess[]> {
  const cli = (args: string[]) => spawn(process.execPath, [CLI, ...args], { detached: true, stdio: 'ignore' });
  if (mode === 'run') return [cli(['run', file, ...flags, '--out', out, '--no-progress'])];
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const cluster = job.cluster as { workers: number };
  const shards = flags.includes('--ps-shards') ? Number(flags[flags.indexOf('--ps-shards') + 1]) : 0;
  const member = (role: string) => cli([role, '--connect', endpoint, '--serve', '--log-file', join(out, `${role}.jsonl`)]);
  mkdirSync(out, { recursive: true });
  return [cli(['coordinator', file, ...flags, '--bind', endpoint, '--out', out, '--no-progress']), ...Array.from({ length: shards }, () => member('ps')), ...Array.from({ length: cluster.workers }, () => member('worker'))];
}

/** One run with a member killed at a random moment after its first steps; its summary. */
async function chaosRun(dir: string, tag: string, job: Record<string, unknown>, flags: string[], kinds: string[], mode: string): Promise<Summary> {
  const out = join(dir, tag);
  writeFileSync(join(dir, `${tag}.json`), JSON.stringify(job));
  const processes = await start(out, join(dir, `${tag}.json`), job, flags, mode);
  const child = processes[0];
  const exited = new Promise((r) => child.on('exit', r));
  try {
    const metrics = join(out, 'metrics.jsonl');
    const deadline = Date.now() + 60_000;
    while (!existsSync(metrics) || readFileSync(metrics, 'utf8').length === 0) {
      if (Date.now() > deadline) throw new Error(`${tag}: no step within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, Math.random() * 1500));
    const members = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => kinds.some((k) => l.includes(`"${k} joined"`)))
      .map((l) => JSON.parse(l) as { memberPid: number });
    const victim = members[Math.floor(Math.random() * members.length)];
    try {
      process.kill(victim.memberPid, 'SIGKILL');
    } catch {
      // the run finished first: it counts as a run with no recovery
    }
    await exited;
    return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
  } finally {
    for (const p of processes) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

export async function benchChaos(args: string[]): Promise<void> {
  const runs = Number(flag(args, '--runs', '20'));
  const name = flag(args, '--job', 'ring');
  const mode = flag(args, '--mode', 'run');
  if (mode !== 'run' && mode !== 'cluster') throw new Error(`--mode ${mode}: run or cluster`);
  const c = jobs[name];
  if (!c) throw new Error(`--job ${name}: one of ${Object.keys(jobs).join(', ')}`);
  // A cluster's coordinator notices a killed member by its silence: a short heartbeat (no number of the job changes).
  const job = mode === 'cluster' ? { ...c.job, cluster: { ...(c.job.cluster as object), heartbeatTimeoutMs: 2000 } } : c.job;
  await tf.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-chaos-'));
  try {
    const ref = await weights(run(dir, 'ref', c.job, c.flags), c.nets);
    const single = await weights(run(dir, 'single', c.job, [...c.flags, '--workers', '1']), c.nets);
    const total = (JSON.parse(readFileSync(join(dir, 'ref', 'summary.json'), 'utf8')) as Summary).steps;
    let finished = 0;
    let identical = 0;
    let recovered = 0;
    let shrunk = 0;
    let worst = 0;
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = await chaosRun(dir, `run-${i}`, job, c.flags, c.members, mode);
      const w = await weights(join(dir, `run-${i}`), c.nets);
      if (s.status === 'succeeded' && s.steps === total) finished++;
      if (w.every((v, k) => v === ref[k])) identical++;
      if ((s.recoveries ?? []).length > 0) recovered++;
      if ((s.regroups ?? []).some((g) => g.to < g.from)) shrunk++;
      worst = Math.max(worst, maxRelDiff(w, single));
      for (const r of s.recoveries ?? []) seconds.push(r.seconds);
      rmSync(join(dir, `run-${i}`), { recursive: true, force: true });
      process.stdout.write(`  run ${i + 1}/${runs}: ${s.status}, ${s.steps}/${total} steps, ${(s.recoveries ?? []).length} recovery\n`);
    }
    const mean = seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : NaN;
    console.log(`${name} (${mode === 'run' ? 'dtrain run' : 'dtrain coordinator, --serve members'}): ${runs} runs, a random ${c.members.join(' or ')} killed with SIGKILL at a random moment of each`);
    console.log(`  finished every step        ${finished}/${runs}   (${recovered} restarted, from a checkpoint or the start; a run without a recovery had ended before the kill)`);
    console.log(`  weights = undisturbed run  ${identical}/${runs}   (bit for bit, ${(c.job.cluster as { workers: number }).workers} workers${mode === 'cluster' ? '; a run that went on with fewer workers for a while is equal within float32 rounding instead' : ''})`);
    if (mode === 'cluster') console.log(`  went on with fewer workers ${shrunk}/${runs}`);
    console.log(`  max relative difference from one process: ${worst.toExponential(2)} (bar 1e-5)`);
    console.log(`  loss → restarted run's first step: ${mean.toFixed(2)} s on average`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
