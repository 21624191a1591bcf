/** What `dtrain worker` and `dtrain ps` share: the coordinator address, and living under `dtrain run`. */
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { UsageError } from '../util/errors.js';

/** How long a worker or shard that lost its coordinator waits for it to come back (--coordinator-timeout). */
export const DEFAULT_COORDINATOR_TIMEOUT_S = 60;

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

/**
 * The address this process's peers should use to reach it, when --advertise
 * is not given: loopback for a local coordinator, else the address of the
 * interface the kernel routes to the coordinator through (a UDP "connect"
 * sends nothing; it only picks the route). A host name is the last resort:
 * it often resolves to a loopback address on the other hosts, and a ring
 * between hosts then never forms.
 */
export async function defaultAdvertise(connect: string): Promise<string> {
  const host = parseConnect(connect).replace(/^\[|\]$/g, '');
  if (LOOPBACK.test(host)) return '127.0.0.1';
  const port = Number(connect.slice(connect.lastIndexOf(':') + 1));
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => resolve());
    });
    return socket.address().address;
  } catch {
    return hostname();
  } finally {
    socket.close();
  }
}

/** A worker's or shard's wait for a lost coordinator, in ms: none under `dtrain run` (the coordinator is the parent). */
export function coordinatorTimeoutMs(f: { managed?: boolean; coordinatorTimeout?: number }): number {
  return f.managed ? 0 : Math.round((f.coordinatorTimeout ?? DEFAULT_COORDINATOR_TIMEOUT_S) * 1000);
}

/** --coordinator-timeout as given to a --serve process's job processes. */
export const timeoutFlag = (s: number | undefined) => (s === undefined ? undefined : String(s));
