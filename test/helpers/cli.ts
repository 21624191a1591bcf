/** Runs the built CLI as a real process; every process started is killed by pid when the test ends. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/dtrain.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const started = new Set<ChildProcess>();

export function startCli(args: string[], opts: { cwd?: string } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => {
      started.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, done };
}

export function runCli(args: string[], opts: { cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Kills every CLI process a test started and has not seen exit. */
export function killStarted(): void {
  for (const c of started) if (c.pid) c.kill('SIGKILL');
  started.clear();
}

/** A temp folder, removed by `cleanup`. */
export function tempDir(prefix = 'dtrain-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeJob(dir: string, name: string, job: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof job === 'string' ? job : JSON.stringify(job, null, 2));
  return p;
}

export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
