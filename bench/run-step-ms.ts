/** Steady-state step time of a real `dtrain run`, read from its metrics.jsonl. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../bin/dtrain.js', import.meta.url));

interface MetricsLine {
  step: number;
  samplesPerSecond: number;
  computeMs?: number;
  commMs?: number;
  spreadMs?: number;
}

/** A run's steady state: ms per step, and the means of the workers' reported times (metrics lines after the first). */
export interface StepProfile {
  ms: number;
  computeMs: number;
  commMs: number;
  spreadMs: number;
}

/**
 * Runs `job` (which sets train.maxSteps, batchSize and logEvery) and returns
 * ms per step between its first and last metrics lines, so that start-up and
 * the first steps (warm-up) do not count.
 */
export function runStepMs(job: { train: { batchSize: number } & Record<string, unknown> } & Record<string, unknown>, args: string[] = []): number {
  return runStepProfile(job, args).ms;
}

/** As runStepMs, with where the time went (run the job with train.logEvery 1 for every step's). */
export function runStepProfile(job: { train: { batchSize: number } & Record<string, unknown> } & Record<string, unknown>, args: string[] = []): StepProfile {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-bench-'));
  try {
    // Step time alone: no evaluations between steps (a GAN job has none to turn off).
    const timed = job.type === 'gan' ? job : { ...job, train: { evalEvery: 0, ...job.train } };
    writeFileSync(join(dir, 'job.json'), JSON.stringify(timed));
    execFileSync(process.execPath, [CLI, 'run', join(dir, 'job.json'), '--out', join(dir, 'out'), '--no-progress', ...args], { stdio: 'ignore' });
    const lines = readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
    if (lines.length < 2) throw new Error(`${lines.length} metrics lines: too few steps to measure`);
    const b = job.train.batchSize;
    const at = (l: MetricsLine) => (l.step * b) / l.samplesPerSecond;
    const first = lines[0];
    const last = lines[lines.length - 1];
    const rest = lines.slice(1);
    const mean = (k: 'computeMs' | 'commMs' | 'spreadMs') => rest.reduce((a, l) => a + (l[k] ?? 0), 0) / rest.length;
    return { ms: ((at(last) - at(first)) / (last.step - first.step)) * 1000, computeMs: mean('computeMs'), commMs: mean('commMs'), spreadMs: mean('spreadMs') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The middle value of an odd number of samples. */
export function middle(v: number[]): number {
  return [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
}

/** `--rounds N` of a benchmark's arguments (default 3). */
export function roundsOf(args: string[]): number {
  const i = args.indexOf('--rounds');
  const rounds = i >= 0 ? Number(args[i + 1]) : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number ≥ 1');
  return rounds;
}

/**
 * Runs each mode's job once a round, the modes interleaved (`args` may be
 * made afresh for each run, `during` starts what runs alongside it), and prints
 * each one's median ms a step, its samples, and its ratio to the first
 * mode's; returns the medians.
 */
export function compareStepTimes(modes: { name: string; job: Parameters<typeof runStepMs>[0]; args: string[] | (() => string[]); during?: (args: string[]) => () => void }[], rounds: number): number[] {
  const samples = modes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    modes.forEach((m, k) => {
      // A mode may start something alongside its run (a client of the run's servers), stopped once it is done.
      const args = typeof m.args === 'function' ? m.args() : m.args;
      const stop = m.during?.(args) ?? (() => undefined);
      try {
        samples[k].push(runStepMs(m.job, args));
      } finally {
        stop();
      }
    });
  }
  const medians = samples.map(middle);
  const width = Math.max(...modes.map((m) => m.name.length)) + 2;
  console.log(`${'mode'.padEnd(width)} ms/step   samples            ratio`);
  modes.forEach((m, k) => console.log(`${m.name.padEnd(width)}${medians[k].toFixed(2).padStart(7)}   ${samples[k].map((v) => v.toFixed(1)).join(' ').padEnd(17)}  ${(medians[k] / medians[0]).toFixed(3)}`));
  return medians;
}
