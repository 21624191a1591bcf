/**
 * `npm run bench -- chaos [--runs 20] [--job ring|ps|gan]`: kill -9 a random
 * member of a `dtrain run` at a random moment of its training, many times,
 * and count the runs that still finish every step with the weights of an
 * undisturbed run (bit for bit, same worker count) and within 1e-5 of one
 * process training the same global batches. Jobs: `ring` (3 workers, a
 * worker killed), `ps` (3 workers and 2 shards, a worker or a shard
 * killed), `gan` (2 workers, a worker killed).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { readAllParams } from '../src/tensor/flat.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';

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

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

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
}

/** One run with a member killed at a random moment after its first steps; its summary. */
async function chaosRun(dir: string, tag: string, job: Record<string, unknown>, flags: string[], kinds: string[]): Promise<Summary> {
  const out = join(dir, tag);
  writeFileSync(join(dir, `${tag}.json`), JSON.stringify(job));
  const child = spawn(process.execPath, [CLI, 'run', join(dir, `${tag}.json`), ...flags, '--out', out, '--no-progress'], { detached: true, stdio: 'ignore' });
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
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export async function benchChaos(args: string[]): Promise<void> {
  const runs = Number(flag(args, '--runs', '20'));
  const name = flag(args, '--job', 'ring');
  const c = jobs[name];
  if (!c) throw new Error(`--job ${name}: one of ${Object.keys(jobs).join(', ')}`);
  await tf.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-chaos-'));
  try {
    const ref = await weights(run(dir, 'ref', c.job, c.flags), c.nets);
    const single = await weights(run(dir, 'single', c.job, [...c.flags, '--workers', '1']), c.nets);
    const total = (JSON.parse(readFileSync(join(dir, 'ref', 'summary.json'), 'utf8')) as Summary).steps;
    let finished = 0;
    let identical = 0;
    let recovered = 0;
    let worst = 0;
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = await chaosRun(dir, `run-${i}`, c.job, c.flags, c.members);
      const w = await weights(join(dir, `run-${i}`), c.nets);
      if (s.status === 'succeeded' && s.steps === total) finished++;
      if (w.every((v, k) => v === ref[k])) identical++;
      if ((s.recoveries ?? []).length > 0) recovered++;
      worst = Math.max(worst, maxRelDiff(w, single));
      for (const r of s.recoveries ?? []) seconds.push(r.seconds);
      rmSync(join(dir, `run-${i}`), { recursive: true, force: true });
      process.stdout.write(`  run ${i + 1}/${runs}: ${s.status}, ${s.steps}/${total} steps, ${(s.recoveries ?? []).length} recovery\n`);
    }
    const mean = seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : NaN;
    console.log(`${name}: ${runs} runs, a random ${c.members.join(' or ')} killed with SIGKILL at a random moment of each`);
    console.log(`  finished every step        ${finished}/${runs}   (${recovered} restarted, from a checkpoint or the start; a run without a recovery had ended before the kill)`);
    console.log(`  weights = undisturbed run  ${identical}/${runs}   (bit for bit, ${(c.job.cluster as { workers: number }).workers} workers)`);
    console.log(`  max relative difference from one process: ${worst.toExponential(2)} (bar 1e-5)`);
    console.log(`  loss → restarted run's first step: ${mean.toFixed(2)} s on average`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
