/**
 * --log-level (and DTRAIN_LOG_LEVEL when it is absent) sets the least level
 * of every log line a command writes: `dtrain run --log-level warn` writes
 * no info line to OUT/log.jsonl, from the coordinator or from the workers
 * and shards it starts, where the default writes them. A bad level is a
 * usage error, exit 2, naming the levels there are.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, killStarted, runCli, tempDir, writeJob, type CliResult } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

/** The CLI with DTRAIN_LOG_LEVEL set to `level`, or taken out of the environment (undefined). */
function runWithEnv(args: string[], level: string | undefined): Promise<CliResult> {
  const { DTRAIN_LOG_LEVEL: _inherited, ...env } = process.env;
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: level === undefined ? env : { ...env, DTRAIN_LOG_LEVEL: level } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })));
}

/** One coordinator, two workers and a ps shard, for a second. */
const job = {
  name: 'log-level',
  data: { source: 'synthetic', kind: 'blobs', samples: 200, features: 4, classes: 3 },
  model: { zoo: 'mlp', hidden: [8] },
  train: { epochs: 1, batchSize: 20 },
  cluster: { workers: 2, backend: 'cpu', strategy: 'ps', ps: { shards: 1 } },
};

interface Line {
  level: number;
  role?: string;
}

/** Runs the job into a fresh folder; returns its log lines. */
async function logOf(out: string, flags: string[], env: string | undefined): Promise<Line[]> {
  const r = await runWithEnv(['run', writeJob(tmp.dir, 'job.json', job), '--out', join(tmp.dir, out), '--no-progress', '--insecure', ...flags], env);
  expect(r.code, r.stderr).toBe(0);
  const text = readFileSync(join(tmp.dir, out, 'log.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

const INFO = 30;
const roles = (lines: Line[]) => [...new Set(lines.filter((l) => l.level === INFO).map((l) => l.role ?? 'coordinator'))].sort();

describe('--log-level', () => {
  it('by default the run and the processes it starts log at info (the companion of the next)', async () => {
    const lines = await logOf('default', [], undefined);
    expect(roles(lines)).toEqual(['coordinator', 'ps', 'worker']);
  });

  it('--log-level warn: no info line in OUT/log.jsonl, from the coordinator, the workers or the shard', async () => {
    const lines = await logOf('warn', ['--log-level', 'warn'], undefined);
    expect(lines.filter((l) => l.level < 40)).toEqual([]);
  });

  it('DTRAIN_LOG_LEVEL applies when the flag is absent; the flag wins over it', async () => {
    expect((await logOf('env-warn', [], 'warn')).filter((l) => l.level < 40)).toEqual([]);
    expect(roles(await logOf('flag-wins', ['--log-level', 'info'], 'warn'))).toEqual(['coordinator', 'ps', 'worker']);
  });

  it('a bad level is a usage error (exit 2) naming the levels, before anything starts', async () => {
    const out = join(tmp.dir, 'loud');
    const r = await runWithEnv(['run', writeJob(tmp.dir, 'job.json', job), '--out', out, '--log-level', 'loud'], undefined);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--log-level <level>' argument 'loud' is invalid\. Allowed choices are trace, debug, info, warn, error, silent/);
    expect(existsSync(out)).toBe(false);
    const fromEnv = await runWithEnv(['worker', '--connect', 'tcp://127.0.0.1:1'], 'loud');
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/'loud' from env 'DTRAIN_LOG_LEVEL' is invalid\. Allowed choices are trace, debug, info, warn, error, silent/);
  });

  for (const command of ['run', 'coordinator', 'worker', 'ps', 'attack']) {
    it(`dtrain ${command} --help documents it`, async () => {
      const r = await runCli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--log-level <level>[\s\S]*silent[\s\S]*env:\s+DTRAIN_LOG_LEVEL/);
    });
  }
});
