/**
 * `--metrics-port P` and `--dashboard P` of run and coordinator: the job's
 * Prometheus metrics and its live dashboard, served while the command runs.
 * Both bind 127.0.0.1 unless --metrics-host / --dashboard-host say otherwise.
 */
import { Dashboard, serveDashboard } from '../observe/dashboard.js';
import { JobView, type JobStatus } from '../observe/job-view.js';
import { Observers } from '../observe/observer.js';
import { JobMetrics, serveMetrics } from '../observe/prometheus.js';
import type { JobSpec } from '../spec/job-spec.js';
import { errorMessage, JobCancelledError } from '../util/errors.js';
import type { JobOutput } from './job-output.js';

export interface WatchFlags {
  metricsPort?: number;
  metricsHost?: string;
  dashboard?: number;
  dashboardHost?: string;
}

export interface WatchServers {
  /** The job ended: its status on the dashboard. */
  finish(err?: unknown): void;
  close(): Promise<void>;
}

/** Starts the servers the flags ask for, and makes `output` feed them (output.observer, output.metrics); their URLs go to the progress notes. */
export async function startWatchServers(flags: WatchFlags, spec: JobSpec, output: JobOutput): Promise<WatchServers> {
  const metrics = flags.metricsPort === undefined ? undefined : new JobMetrics();
  const view = flags.dashboard === undefined ? undefined : new JobView(spec.name, spec.name, spec.type, output.outDir);
  // The notes go to the dashboard from the first (its own URL) on.
  if (view) output.progress.listen((e) => e.kind === 'note' && view.note(e.text));
  const close = await startAll([
    metrics &&
      (async () => {
        const served = await serveMetrics(metrics.registry, flags.metricsPort!, flags.metricsHost);
        say(output, 'metrics', served.url);
        return served;
      }),
    view &&
      (async () => {
        const board = new Dashboard();
        board.add(view);
        const served = await serveDashboard(board, flags.dashboard!, flags.dashboardHost);
        say(output, 'dashboard', `${served.url}jobs/${encodeURIComponent(spec.name)}`);
        return served;
      }),
  ]);
  if (view) output.metrics = view;
  output.observer = new Observers([metrics, view]);
  return {
    finish: (err) => view?.setStatus(statusOf(err), err === undefined ? undefined : errorMessage(err)),
    close,
  };
}

/**
 * Starts servers one after another; if one cannot start, those started are
 * closed before the error goes on. Resolves to what closes them all.
 */
export async function startAll(starts: (false | undefined | (() => Promise<{ close(): Promise<void> }>))[]): Promise<() => Promise<void>> {
  const started: { close(): Promise<void> }[] = [];
  const close = async () => {
    await Promise.all(started.map((s) => s.close()));
  };
  try {
    for (const start of starts) if (start) started.push(await start());
  } catch (err) {
    await close();
    throw err;
  }
  return close;
}

function statusOf(err: unknown): JobStatus {
  if (err === undefined) return 'succeeded';
  return err instanceof JobCancelledError ? 'cancelled' : 'failed';
}

/** A server's URL: a progress note, and a log line (which --json and --no-progress runs still have). */
function say(output: JobOutput, what: string, url: string): void {
  output.progress.note(`${what}: ${url}`);
  output.log.info({ url }, `${what} served`);
}
