/** `dtrain ps --connect tcp://HOST:PORT`: a parameter-server shard for jobs of strategy ps. */
import { UsageError } from '../util/errors.js';
import { makeLogger } from '../util/log.js';
import { runPs } from '../ps/main.js';
import { childFlags, coordinatorTimeoutMs, defaultAdvertise, timeoutFlag, LOOPBACK, parseConnect, stayWithParent } from './process-flags.js';
import { serveForever } from './serve-loop.js';
import { clusterKeyFor, hostOf, securityChildFlags, type SecurityFlags } from './security-flags.js';

export interface PsFlags extends SecurityFlags {
  connect: string;
  bind?: string;
  advertise?: string;
  managed?: boolean;
  serve?: boolean;
  json?: boolean;
  logFile?: string;
  coordinatorTimeout?: number;
}

export async function psCommand(flags: PsFlags): Promise<number> {
  const host = parseConnect(flags.connect);
  const local = LOOPBACK.test(host);
  const bind = flags.bind ?? `tcp://${local ? '127.0.0.1' : '0.0.0.0'}:*`;
  if (!/^tcp:\/\/([^:]+|\[[^\]]+\]):(\d+|\*)$/.test(bind)) throw new UsageError(`--bind must look like tcp://HOST:PORT (PORT may be *), got ${bind}`);
  const key = clusterKeyFor('ps', [host, hostOf(bind)], flags);
  const log = makeLogger({ json: flags.json ?? !flags.logFile, file: flags.logFile, base: { pid: process.pid, role: 'ps' } });
  if (flags.serve) return serveForever('ps', childFlags(flags, { bind: flags.bind, advertise: flags.advertise, 'coordinator-timeout': timeoutFlag(flags.coordinatorTimeout), 'log-level': log.level }).concat(securityChildFlags(flags)), log);
  if (flags.managed) stayWithParent();
  return runPs({ connect: flags.connect, bind, advertiseHost: flags.advertise ?? (await defaultAdvertise(flags.connect)), log, coordinatorTimeoutMs: coordinatorTimeoutMs(flags), ...(key ? { key } : {}) });
}
