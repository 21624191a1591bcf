/** What `dtrain worker` and `dtrain ps` share: the coordinator address, and living under `dtrain run`. */
import { UsageError } from '../util/errors.js';

export const LOOPBACK = /^(127\.|localhost$|\[?::1\]?$)/;

/** Checks a tcp://HOST:PORT coordinator address and returns HOST. */
export function parseConnect(connect: string): string {
  const m = /^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+)$/.exec(connect);
  if (!m) throw new UsageError(`--connect must look like tcp://HOST:PORT, got ${connect}`);
  return m[1];
}

/**
 * Started by `dtrain run`: the parent decides when we stop (Ctrl-C reaches
 * the whole process group), and we must not outlive it.
 */
export function stayWithParent(): void {
  process.on('SIGINT', () => undefined);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 1000).unref();
}

/** The flags a --serve process passes on to each of its job processes: the coordinator, where logs go, and `extra` (those given). */
export function childFlags(f: { connect: string; logFile?: string }, extra: Record<string, string | undefined>): string[] {
  const given = Object.entries(extra).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, v]));
  return ['--connect', f.connect, ...given, ...(f.logFile ? ['--log-file', f.logFile] : ['--json'])];
}
