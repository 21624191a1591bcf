/**
 * `dtrain coordinator --nats URL --bind tcp://HOST:PORT --state-dir DIR`:
 * service mode. Jobs come from NATS (see src/service/); workers started
 * with `dtrain worker --connect … --serve` stay connected across jobs.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_FASHION_MNIST_PATH } from '../spec/job-spec.js';
import { errorMessage, UsageError } from '../util/errors.js';
import { makeLogger } from '../util/log.js';
import { bindRouter } from '../wire/zmq-transport.js';
import { connectNats, type NatsFlags } from '../service/nats-connect.js';
import { JobService } from '../service/service.js';
import { onStopSignals } from './job-output.js';
import type { ClusterKey } from '../wire/cluster-key.js';
import { exposedHost } from './security-flags.js';
import { DEFAULT_CAPS, type ServiceCaps } from '../service/caps.js';
import { ServiceWatch } from '../service/service-watch.js';
import { jobOutput } from '../service/job-runner.js';
import type { JobStore } from '../service/job-store.js';
import { serveMetrics } from '../observe/prometheus.js';
import { serveDashboard } from '../observe/dashboard.js';
import { startAll, type WatchFlags } from './watch-servers.js';

/** Service mode's metrics port when --metrics-port is not given (OpenTelemetry's Prometheus exporter's). */
export const DEFAULT_SERVICE_METRICS_PORT = 9464;

export interface ServiceFlags extends NatsFlags, WatchFlags {
  insecure?: boolean;
  bind: string;
  stateDir?: string;
  json?: boolean;
  progress?: boolean;
  /** Folders submitted jobs may read data from (default: where Debian's datasets are). */
  dataRoot?: string[];
  /** Per-job caps (--max-params, --max-data-mb, --max-workers). */
  maxParams?: number;
  maxDataMb?: number;
  maxWorkers?: number;
}

export async function serviceCommand(flags: ServiceFlags, key: ClusterKey | undefined): Promise<number> {
  if (!flags.stateDir) throw new UsageError('service mode needs --state-dir DIR: where the jobs write their outputs');
  if (/:\*$/.test(flags.bind)) throw new UsageError('service mode needs a fixed --bind port: workers reconnect to it between jobs');
  requireNatsAuth(flags);
  mkdirSync(flags.stateDir, { recursive: true });
  const log = makeLogger({ file: join(flags.stateDir, 'coordinator.log.jsonl'), json: flags.json, base: { pid: process.pid, role: 'coordinator' } });
  const say = (line: string) => {
    log.info(line);
    if (!flags.json) process.stderr.write(`${line}\n`);
  };
  // Each job binds the endpoint in turn: find out now if it cannot be had.
  let endpoint: string;
  try {
    const probe = await bindRouter(flags.bind);
    endpoint = probe.endpoint;
    probe.close();
  } catch (err) {
    throw new UsageError(`cannot listen on ${flags.bind}: ${errorMessage(err)}`, { cause: err });
  }
  const { nc, jsm } = await connectNats(flags, `dtrain coordinator ${hostname()}:${process.pid}`, true);
  const stateDir = flags.stateDir;
  // The watch reads the store, which the service opens after the watch is made.
  const opened: { store?: JobStore } = {};
  const watch = new ServiceWatch(async () => (opened.store ? opened.store.list() : []), (id) => jobOutput(stateDir, id), flags.dashboard !== undefined);
  const servers = await serveWatch(watch, flags, say);
  let service: JobService;
  try {
    service = await JobService.start(nc, jsm, { bind: flags.bind, stateDir, terminal: !flags.json && flags.progress !== false, submitted: { dataRoots: dataRoots(flags) }, log, say, ...(key ? { key } : {}), caps: capsOf(flags), watch });
  } catch (err) {
    await servers.close();
    throw err;
  }
  opened.store = service.store;
  const reach = endpoint.replace(/^tcp:\/\/0\.0\.0\.0:/, `tcp://${hostname()}:`);
  say(`dtrain coordinator: taking jobs from ${flags.nats}; outputs in ${flags.stateDir}/jobs/<id>/`);
  say(`workers join with: dtrain worker --connect ${reach} --serve`);
  let removeHandlers!: () => void;
  // `cause` for the operator; `why` is recorded with the job that was running.
  const { cause, why } = await new Promise<{ cause: string; why: string }>((resolve) => {
    removeHandlers = onStopSignals((sig) => resolve({ cause: `the coordinator was stopped by ${sig}`, why: `the coordinator was stopped by ${sig} while the job ran` }));
    void nc.closed().then((err) => {
      const closed = `the NATS connection closed${err ? `: ${errorMessage(err)}` : ''}`;
      resolve({ cause: closed, why: closed });
    });
  });
  removeHandlers();
  say(`stopping: ${cause}; queued jobs stay queued`);
  // A second signal during the stop ends the process at once.
  onStopSignals(() => process.exit(130));
  await service.stop(why);
  await servers.close();
  if (!nc.isClosed()) await nc.drain();
  return 0;
}

/**
 * Metrics, always: on --metrics-port, else on DEFAULT_SERVICE_METRICS_PORT
 * (or, when something else holds it, any free port, said so); and the
 * dashboard with --dashboard.
 */
async function serveWatch(watch: ServiceWatch, flags: ServiceFlags, say: (line: string) => void): Promise<{ close(): Promise<void> }> {
  const board = watch.board;
  const close = await startAll([
    async () => {
      let metrics;
      try {
        metrics = await serveMetrics(watch.metrics.registry, flags.metricsPort ?? DEFAULT_SERVICE_METRICS_PORT, flags.metricsHost);
      } catch (err) {
        if (flags.metricsPort !== undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new UsageError(`cannot serve metrics on port ${flags.metricsPort ?? DEFAULT_SERVICE_METRICS_PORT}: ${errorMessage(err)}`, { cause: err });
        metrics = await serveMetrics(watch.metrics.registry, 0, flags.metricsHost);
        say(`port ${DEFAULT_SERVICE_METRICS_PORT} is taken: metrics on another (--metrics-port P chooses)`);
      }
      say(`metrics: ${metrics.url}`);
      return metrics;
    },
    board &&
      flags.dashboard !== undefined &&
      (async () => {
        const served = await serveDashboard(board, flags.dashboard!, flags.dashboardHost);
        say(`dashboard: ${served.url}`);
        return served;
      }),
  ]);
  return { close };
}

/** --data-root, each resolved; without one, the folder of the Debian datasets. */
function dataRoots(flags: ServiceFlags): string[] {
  const given = flags.dataRoot ?? [];
  return given.length > 0 ? given.map((d) => resolve(d)) : [dirname(DEFAULT_FASHION_MNIST_PATH)];
}

/**
 * A NATS server anyone on the network reaches must know who submits: a
 * non-loopback --nats needs credentials (--creds, --token, or a user and
 * password), unless --insecure.
 */
function requireNatsAuth(flags: ServiceFlags): void {
  if (flags.insecure || flags.creds !== undefined || flags.token !== undefined || flags.user !== undefined) return;
  const exposed = exposedHost(flags.nats.split(',').map((u) => /^\w+:\/\/(?:[^@/]*@)?([^:/]+|\[[^\]]+\])/.exec(u.trim())?.[1] ?? u));
  if (exposed !== undefined)
    throw new UsageError(
      `service mode on the NATS server at ${exposed} with no credentials: anyone who reaches it could submit, cancel or delete jobs. Run nats-server with users (deploy/nats/nats-server.conf: a coordinator user and a submitter user) and give the coordinator --creds FILE, --token, or --user/--password; or add --insecure on a network you trust`,
    );
}

function capsOf(flags: ServiceFlags): ServiceCaps {
  return { maxParams: flags.maxParams ?? DEFAULT_CAPS.maxParams, maxDataMb: flags.maxDataMb ?? DEFAULT_CAPS.maxDataMb, maxWorkers: flags.maxWorkers ?? DEFAULT_CAPS.maxWorkers };
}
