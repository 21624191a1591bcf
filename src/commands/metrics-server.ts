/** `--metrics-port P` of run and coordinator: the job's Prometheus metrics, served while the command runs. */
import type { Progress } from '../coordinator/progress.js';
import { JobMetrics, serveMetrics, type StepObserver } from '../observe/prometheus.js';

export interface MetricsFlags {
  metricsPort?: number;
}

/** Starts the server when a port is given (its URL goes to the progress notes); `close` stops it. */
export async function startMetricsServer(flags: MetricsFlags, progress: Progress): Promise<{ observer?: StepObserver; close(): Promise<void> }> {
  if (flags.metricsPort === undefined) return { close: async () => undefined };
  const metrics = new JobMetrics();
  const served = await serveMetrics(metrics.registry, flags.metricsPort);
  progress.note(`metrics: ${served.url}`);
  return { observer: metrics, close: served.close };
}
