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
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    await Promise.all(closers.map((c) => c()));
  };
  try {
    let metrics: JobMetrics | undefined;
    if (flags.metricsPort !== undefined) {
      metrics = new JobMetrics();
      const served = await serveMetrics(metrics.registry, flags.metricsPort, flags.metricsHost);
      closers.push(served.close);
      say(output, 'metrics', served.url);
    }
    let view: JobView | undefined;
    if (flags.dashboard !== undefined) {
      const board = new Dashboard();
      view = board.add(new JobView(spec.name, spec.name, spec.type, output.outDir));
      const served = await serveDashboard(board, flags.dashboard, flags.dashboardHost);
      closers.push(served.close);
      const shown = view;
      output.progress.listen((e) => {
        if (e.kind === 'note') shown.note(e.text);
      });
      say(output, 'dashboard', `${served.url}jobs/${encodeURIComponent(spec.name)}`);
    }
    output.observer = new Observers([metrics, view]);
    if (view) output.metrics = view;
    return {
      finish: (err) => view?.setStatus(statusOf(err), err === undefined ? undefined : errorMessage(err)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
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
