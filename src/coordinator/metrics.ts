/** Metric sinks: each receives every logged metrics line; a container forwards to all. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodePng, type Raster } from '../image/png.js';
import { EventFile } from '../observe/tfevents.js';
import type { JobObserver, StepReport } from '../observe/observer.js';

/** Steps over which TensorBoard's per-worker step times are averaged. */
export const WORKER_WINDOW = 10;

export type Metrics = Record<string, number | string>;

/** Which figures a line holds: training's (metrics.jsonl), an evaluation's of the test split, or of data.validation's split. */
export type MetricsGroup = 'train' | 'eval' | 'validation';

/** A picture the job wrote into its folder: `file` relative to it, the PNG's bytes and size. */
export interface Picture {
  /** Its name on the dashboard and its TensorBoard tag (e.g. samples, gallery). */
  tag: string;
  file: string;
  png: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface MetricsSink {
  log(metrics: Metrics, step: number, group?: MetricsGroup): void;
  /** A picture written at `step`. */
  picture?(p: Picture, step: number): void;
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
 * `<group>/<name>` at its step (the epoch is the step's, not a curve), and,
 * as an observer of the steps, each worker's mean step times over every
 * WORKER_WINDOW steps as `worker<rank>/computeMs`, `…/waitMs`, `…/commMs`.
 * Each session writes a file of its own; TensorBoard reads them all.
 */
export class TensorBoardSink implements MetricsSink, JobObserver {
  private readonly file: EventFile;
  /** Per rank: sums of compute, wait and collective ms, and steps, since the last write. */
  private readonly window = new Map<number, [number, number, number, number]>();
  /** `resumedAt`: the step a resumed run goes on from. */
  constructor(dir: string, resumedAt?: number) {
    this.file = new EventFile(dir);
    if (resumedAt !== undefined) this.file.restart(resumedAt);
  }
  picture(p: Picture, step: number): void {
    this.file.image(step, p.tag, p.png, p);
  }
  step(step: number, reports: StepReport[]): void {
    for (const r of reports) {
      const w = this.window.get(r.rank) ?? [0, 0, 0, 0];
      w[0] += r.computeMs;
      w[1] += r.waitMs ?? 0;
      w[2] += r.commMs;
      w[3]++;
      this.window.set(r.rank, w);
    }
    if ((step + 1) % WORKER_WINDOW !== 0) return;
    const values: Record<string, number> = {};
    for (const [rank, [compute, wait, comm, n]] of this.window) {
      Object.assign(values, { [`worker${rank}/computeMs`]: compute / n, [`worker${rank}/waitMs`]: wait / n, [`worker${rank}/commMs`]: comm / n });
    }
    this.window.clear();
    this.file.scalars(step + 1, values);
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
  picture(p: Picture, step: number): void {
    for (const s of this.sinks) s.picture?.(p, step);
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

/** Writes `raster` as DIR/`file` (a PNG) and hands it to the sinks (TensorBoard, the dashboard) as `tag` at `step`. */
export function savePicture(outDir: string, sink: MetricsSink, tag: string, file: string, raster: Raster, step: number): void {
  const png = encodePng(raster);
  const path = join(outDir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, png);
  sink.picture?.({ tag, file, png, width: raster.width, height: raster.height, channels: raster.channels }, step);
}
