/** Metric sinks: each receives every logged metrics line; a container forwards to all. */
import { appendFileSync, writeFileSync } from 'node:fs';
import { EventFile } from '../observe/tfevents.js';

export type Metrics = Record<string, number | string>;

/** Which figures a line holds: training's (metrics.jsonl), or an evaluation's of the test split. */
export type MetricsGroup = 'train' | 'eval';

export interface MetricsSink {
  log(metrics: Metrics, step: number, group?: MetricsGroup): void;
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
  log(metrics: Metrics, step: number, group: MetricsGroup = 'train'): void {
    if (group === 'train') appendFileSync(this.file, `${JSON.stringify({ step, ...metrics })}\n`);
  }
  close(): void {}
}

/**
 * TensorBoard scalars in DIR/tensorboard/: every number of a line as
 * `<group>/<name>` at its step (the epoch is the step's, not a curve).
 * Each session writes a file of its own; TensorBoard reads them all.
 */
export class TensorBoardSink implements MetricsSink {
  private readonly file: EventFile;
  constructor(dir: string) {
    this.file = new EventFile(dir);
  }
  log(metrics: Metrics, step: number, group: MetricsGroup = 'train'): void {
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number' && k !== 'epoch') values[`${group}/${k}`] = v;
    this.file.scalars(step, values);
  }
  close(): void {}
}

export class MetricsHub implements MetricsSink {
  constructor(private readonly sinks: MetricsSink[]) {}
  log(metrics: Metrics, step: number, group?: MetricsGroup): void {
    for (const s of this.sinks) s.log(metrics, step, group);
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
