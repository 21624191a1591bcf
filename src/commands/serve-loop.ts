/**
 * `dtrain worker --serve` and `dtrain ps --serve`: a worker (or shard) for a
 * long-running coordinator. Each job runs in a fresh child process (a clean
 * tfjs engine, nothing left over from the last job, a crash stays in its
 * job); when it ends, the next child joins for the next job. The child's
 * logs go to this process's stdout or log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { onStopSignals } from './job-output.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
/** After a failed child, wait this long before the next (doubling up to MAX_BACKOFF_MS while failures repeat). */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A child that ran at least this long is not a fast repeated failure. */
const HEALTHY_MS = 60_000;

export async function serveForever(role: 'worker' | 'ps', childArgs: string[], log: Logger): Promise<number> {
  let child: ChildProcess | undefined;
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = sig;
    log.info({ signal: sig }, `stopping the ${role}`);
    child?.kill('SIGTERM');
  };
  const removeHandlers = onStopSignals(onSignal);
  let backoff = FIRST_BACKOFF_MS;
  let jobs = 0;
  try {
    while (!stopping) {
      const t0 = Date.now();
      child = spawn(process.execPath, [CLI, role, ...childArgs, '--managed'], { stdio: ['ignore', 'inherit', 'inherit'] });
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
        child!.once('error', (error) => resolve({ code: null, signal: null, error }));
        child!.once('exit', (code, signal) => resolve({ code, signal }));
      });
      if (stopping) break;
      if (exit.code === 0) {
        jobs++;
        backoff = FIRST_BACKOFF_MS;
        log.info({ jobs }, `${role} process finished a job; the next one waits for a job`);
        continue;
      }
      const how = exit.error ? errorMessage(exit.error) : exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      if (Date.now() - t0 >= HEALTHY_MS) backoff = FIRST_BACKOFF_MS;
      log.warn({ backoffMs: backoff }, `${role} process ${how}; starting another in ${(backoff / 1000).toFixed(0)} s`);
      await sleepUnless(backoff, () => stopping !== undefined);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
    return 0;
  } finally {
    removeHandlers();
  }
}

async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !stop()) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
