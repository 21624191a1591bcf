/** Metric sinks: each receives every logged metrics line; a container forwards to all. */
import { appendFileSync, writeFileSync } from 'node:fs';

export type Metrics = Record<string, number | string>;

export interface MetricsSink {
  log(metrics: Metrics, step: number): void;
  close(): void;
}

/** One JSON object per line, `{step, ...metrics}`; the file starts with `earlier` (a resumed run's lines so far). */
export class JsonlSink implements MetricsSink {
  constructor(
    private readonly file: string,
    earlier: string | Uint8Array = '',
  ) {
    writeFileSync(file, earlier);
  }
  log(metrics: Metrics, step: number): void {
    appendFileSync(this.file, `${JSON.stringify({ step, ...metrics })}\n`);
  }
  close(): void {}
}

export class MetricsHub implements MetricsSink {
  constructor(private readonly sinks: MetricsSink[]) {}
  log(metrics: Metrics, step: number): void {
    for (const s of this.sinks) s.log(metrics, step);
  }
  close(): void {
    for (const s of this.sinks) s.close();
  }
}

/**
 * Where a step's time went, from the workers' reports of it: the slowest
 * worker's compute and collective times, and how far the slowest compute
 * lagged the fastest (the time the others waited for it in the collective).
 */
export function stepTimes(reports: { computeMs: number; commMs: number }[]): Metrics {
  const compute = reports.map((r) => r.computeMs);
  return { computeMs: Math.max(...compute), commMs: Math.max(...reports.map((r) => r.commMs)), spreadMs: Math.max(...compute) - Math.min(...compute) };
}
