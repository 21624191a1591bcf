/** Runs the built CLI as a real process; every process started is killed by pid when the test ends. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

/**
 * A temp folder, removed by `cleanup`. Made on first use of `dir`: a file
 * whose tests are all filtered out or skipped runs no afterAll, and must
 * leave nothing behind.
 */
export function tempDir(prefix = 'dtrain-test-'): { readonly dir: string; cleanup(): void } {
  let made: string | undefined;
  return {
    get dir() {
      made ??= mkdtempSync(join(tmpdir(), prefix));
      return made;
    },
    cleanup: () => {
      if (made) rmSync(made, { recursive: true, force: true });
      made = undefined;
    },
  };
}

export function writeJob(dir: string, name: string, job: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof job === 'string' ? job : JSON.stringify(job, null, 2));
  return p;
}

export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Resolves once the process has written a line matching `re` on stderr (or stdout). */
export function waitForOutput(child: ChildProcess, re: RegExp, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no output matching ${re} in ${ms} ms:\n${seen}`)), ms);
    const on = (d: Buffer) => {
      seen += d.toString();
      const m = re.exec(seen);
      if (m) {
        clearTimeout(timer);
        child.stderr?.off('data', on);
        child.stdout?.off('data', on);
        resolve(m[0]);
      }
    };
    child.stderr?.on('data', on);
    child.stdout?.on('data', on);
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves when it has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
