/** `dtrain worker --connect tcp://HOST:PORT`: joins a coordinator and trains what it is given. */
import { hostname } from 'node:os';
import { UsageError } from '../shared/errors.js';
import { makeLogger } from '../shared/log.js';
import { runWorker } from '../worker/main.js';

export interface WorkerFlags {
  connect: string;
  advertise?: string;
  bindHost?: string;
  managed?: boolean;
  json?: boolean;
  logFile?: string;
}

const LOOPBACK = /^(127\.|localhost$|\[?::1\]?$)/;

export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const m = /^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+)$/.exec(flags.connect);
  if (!m) throw new UsageError(`--connect must look like tcp://HOST:PORT, got ${flags.connect}`);
  const local = LOOPBACK.test(m[1]);
  const log = makeLogger({ json: flags.json ?? !flags.logFile, file: flags.logFile, base: { pid: process.pid, role: 'worker' } });
  if (flags.managed) {
    // Started by `dtrain run`: the parent decides when we stop (Ctrl-C reaches the
    // whole process group), and we must not outlive it.
    process.on('SIGINT', () => undefined);
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) process.exit(1);
    }, 1000).unref();
  }
  return runWorker({
    connect: flags.connect,
    bindHost: flags.bindHost ?? (local ? '127.0.0.1' : '0.0.0.0'),
    advertiseHost: flags.advertise ?? (local ? '127.0.0.1' : hostname()),
    log,
  });
}
