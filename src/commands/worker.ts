/** `dtrain worker --connect tcp://HOST:PORT`: joins a coordinator and trains what it is given. */
import { makeLogger } from '../util/log.js';
import { cudaDevice } from './gpu-env.js';
import { runWorker } from '../worker/main.js';
import { childFlags, coordinatorTimeoutMs, defaultAdvertise, timeoutFlag, LOOPBACK, parseConnect, stayWithParent } from './process-flags.js';
import { serveForever } from './serve-loop.js';
import { clusterKeyFor, securityChildFlags, type SecurityFlags } from './security-flags.js';

export interface WorkerFlags extends SecurityFlags {
  connect: string;
  advertise?: string;
  bindHost?: string;
  managed?: boolean;
  serve?: boolean;
  json?: boolean;
  logFile?: string;
  /** This worker's GPU index. */
  gpu?: number;
  /** Seconds; see WorkerOptions.coordinatorTimeoutMs. */
  coordinatorTimeout?: number;
}

export async function workerCommand(flags: WorkerFlags): Promise<number> {
  const host = parseConnect(flags.connect);
  const local = LOOPBACK.test(host);
  const bindHost = flags.bindHost ?? (local ? '127.0.0.1' : '0.0.0.0');
  const key = clusterKeyFor('worker', [host, bindHost], flags);
  const log = makeLogger({ json: flags.json ?? !flags.logFile, file: flags.logFile, base: { pid: process.pid, role: 'worker' } });
  if (flags.serve) return serveForever('worker', childFlags(flags, { advertise: flags.advertise, 'bind-host': flags.bindHost, 'coordinator-timeout': timeoutFlag(flags.coordinatorTimeout), gpu: flags.gpu === undefined ? undefined : String(flags.gpu), 'log-level': log.level }).concat(securityChildFlags(flags)), log);
  if (flags.managed) stayWithParent();
  // Before any backend loads: tfjs-node-gpu then sees this one GPU.
  if (flags.gpu !== undefined) Object.assign(process.env, cudaDevice(flags.gpu, process.env));
  return runWorker({
    connect: flags.connect,
    bindHost,
    advertiseHost: flags.advertise ?? (await defaultAdvertise(flags.connect)),
    log,
    coordinatorTimeoutMs: coordinatorTimeoutMs(flags),
    ...(flags.gpu !== undefined ? { gpu: flags.gpu } : {}),
    ...(key ? { key } : {}),
  });
}
