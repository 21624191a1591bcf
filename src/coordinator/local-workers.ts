/**
 * Worker and ps shard processes started by `dtrain run` on this machine.
 * Their JSON log lines go into the run's log file; the last lines of stderr
 * are kept for the failure message. A process that exits before the job ends
 * fails the job, named by role, rank and pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WorkerLostError } from '../util/errors.js';
import { KEY_ENV, KEY_FILE_ENV } from '../wire/cluster-key.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const STDERR_LINES = 20;

export interface LocalWorker {
  index: number;
  child: ChildProcess;
  stderr: string[];
}

export interface SpawnOptions {
  role: 'worker' | 'ps';
  count: number;
  connect: string;
  /** Added to the processes' environment (the session's cluster key). */
  env: Record<string, string>;
  logFile: string;
  /** Workers: GPU indices; the i-th spawned computes on gpus[i mod length]. */
  gpus?: number[];
  /** Called when a worker exits while the job still needs it. */
  onLost: (err: WorkerLostError) => void;
  /** Names a process by pid once it has joined (its rank), else by spawn index. */
  describe: (pid: number, index: number) => string;
}

export function spawnWorkers(o: SpawnOptions): LocalWorker[] {
  return Array.from({ length: o.count }, (_, index) => {
    // A key file named in our environment is not theirs: they hold the session's key (o.env) or none.
    const { [KEY_FILE_ENV]: _file, [KEY_ENV]: _key, ...env } = process.env;
    const gpu = o.role === 'worker' && o.gpus ? o.gpus[index % o.gpus.length] : undefined;
    const place = gpu === undefined ? [] : ['--gpu', String(gpu)];
    const child = spawn(process.execPath, [CLI, o.role, '--connect', o.connect, '--managed', '--json', ...place], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...o.env } });
    const w: LocalWorker = { index, child, stderr: [] };
    createInterface({ input: child.stdout! }).on('line', (line) => appendFileSync(o.logFile, `${line}\n`));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      w.stderr.push(line);
      if (w.stderr.length > STDERR_LINES) w.stderr.shift();
    });
    child.on('exit', (code, signal) => {
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const tail = w.stderr.length > 0 ? `; stderr: ${w.stderr.slice(-3).join(' | ')}` : '';
      o.onLost(new WorkerLostError(o.describe(child.pid ?? -1, index), `process ${how}${tail}`));
    });
    return w;
  });
}

/** Waits for every worker to exit, killing those still running after `graceMs`. */
export async function reapWorkers(workers: LocalWorker[], graceMs: number): Promise<void> {
  const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  await Promise.all(
    alive.map(
      (w) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(() => w.child.kill('SIGKILL'), graceMs);
          w.child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          if (w.child.exitCode !== null || w.child.signalCode !== null) {
            clearTimeout(t);
            resolve();
          }
        }),
    ),
  );
}
