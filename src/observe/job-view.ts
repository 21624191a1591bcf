/**
 * A job as the dashboard shows it: status and progress, the curves so far,
 * each worker's recent step times, stragglers, pictures and notes. It hears
 * the job as an observer (steps) and as a metrics sink (lines, pictures),
 * keeps a bounded copy, and tells subscribers (the dashboard's event
 * streams) what changed. Step-rate events are throttled.
 */
import { join } from 'node:path';
import type { Metrics, MetricsGroup, MetricsSink, Picture } from '../coordinator/metrics.js';
import type { JobObserver, StepReport } from './observer.js';
import type { StragglerSummary } from './stragglers.js';
import { bounded } from './series.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export type Point = { step: number } & Record<string, number>;

export interface WorkerRow {
  rank: number;
  host: string;
  step: number;
  /** Means over the worker's last WORKER_WINDOW steps: compute, the wait for peers, and the rest of the collective (exchange, optimizer). */
  computeMs: number;
  waitMs: number;
  collectiveMs: number;
  straggler: boolean;
}

export interface PictureEntry {
  name: string;
  url: string;
  step: number;
  updated: number;
}

export type ViewEvent = 'metrics' | 'workers' | 'status' | 'picture' | 'stragglers' | 'note';
export type Listener = (event: ViewEvent, data: unknown) => void;

const WORKER_WINDOW = 20;
const NOTES = 50;
/** Step-rate events (workers, status) go out at most this often. */
const THROTTLE_MS = 500;

export class JobView implements JobObserver, MetricsSink {
  status: JobStatus;
  error: string | undefined;
  /** Steps every worker has finished. */
  stepsDone = 0;
  totalSteps = 0;
  epoch = 0;
  samplesPerSecond = 0;
  startedAt: number | null = null;
  private readonly series: Record<MetricsGroup, Point[]> = { train: [], eval: [], validation: [] };
  private readonly recent = new Map<number, { host: string; step: number; times: [number, number, number][] }>();
  private stragglerNow = new Set<number>();
  private stragglerRecords: StragglerSummary = [];
  private readonly pictures = new Map<string, PictureEntry & { path: string }>();
  private readonly notes: string[] = [];
  private readonly listeners = new Set<Listener>();
  private lastSent = 0;
  private pending: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly type: string,
    /** The run folder the job's pictures are in. */
    readonly outDir: string,
    status: JobStatus = 'running',
  ) {
    this.status = status;
    if (status === 'running') this.startedAt = Date.now();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(event: ViewEvent, data: unknown): void {
    for (const l of this.listeners) l(event, data);
  }

  // ---- what the job tells it

  log(metrics: Metrics, step: number, group: MetricsGroup = 'train'): void {
    const point: Point = { step };
    for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number' && Number.isFinite(v)) point[k] = v;
    const list = this.series[group];
    list.push(point);
    this.series[group] = bounded(list);
    if (group === 'train') {
      if (point.samplesPerSecond !== undefined) this.samplesPerSecond = point.samplesPerSecond;
      if (point.epoch !== undefined) this.epoch = point.epoch;
    }
    this.emit('metrics', { group, point });
  }

  picture(p: Picture, step: number): void {
    const entry = { name: p.tag, url: `/api/jobs/${encodeURIComponent(this.id)}/files/${encodeURIComponent(p.tag)}`, step, updated: Date.now(), path: join(this.outDir, p.file) };
    this.pictures.set(p.tag, entry);
    this.emit('picture', publicPicture(entry));
  }

  close(): void {}

  /** A session starts (the first, or one after a recovery): its workers' rows start afresh. */
  planned(totalSteps: number): void {
    this.totalSteps = totalSteps;
    this.recent.clear();
    this.stragglerNow.clear();
  }

  step(step: number, reports: StepReport[]): void {
    this.stepsDone = step + 1;
    for (const r of reports) {
      const w = this.recent.get(r.rank) ?? { host: r.host ?? '', step: 0, times: [] };
      w.step = step + 1;
      if (r.host) w.host = r.host;
      // commMs holds the wait: the all-reduce figure is the rest (the exchange and the optimizer).
      const wait = r.waitMs ?? 0;
      w.times.push([r.computeMs, wait, Math.max(0, r.commMs - wait)]);
      if (w.times.length > WORKER_WINDOW) w.times.shift();
      this.recent.set(r.rank, w);
    }
    this.throttled();
  }

  stragglers(current: number[], records: StragglerSummary): void {
    this.stragglerNow = new Set(current);
    this.stragglerRecords = records;
    this.emit('stragglers', records);
    this.emit('workers', this.workers());
  }

  note(text: string): void {
    this.notes.push(text);
    if (this.notes.length > NOTES) this.notes.shift();
    this.emit('note', text);
  }

  /** The job's status changes (service mode: queued → running → an end). */
  setStatus(status: JobStatus, error?: string): void {
    this.status = status;
    if (status === 'running' && this.startedAt === null) this.startedAt = Date.now();
    if (error !== undefined) this.error = error;
    clearTimeout(this.pending);
    this.pending = undefined;
    this.emit('workers', this.workers());
    this.emit('status', this.statusData());
  }

  // ---- what the dashboard reads

  /** The file of the picture named `name`, if the job wrote one. */
  picturePath(name: string): string | undefined {
    return this.pictures.get(name)?.path;
  }

  row(): Record<string, unknown> {
    return { id: this.id, name: this.name, type: this.type, status: this.status, step: this.stepsDone, totalSteps: this.totalSteps, samplesPerSecond: this.samplesPerSecond, startedAt: this.startedAt };
  }

  snapshot(): Record<string, unknown> {
    return {
      ...this.row(),
      ...(this.error !== undefined ? { error: this.error } : {}),
      epoch: this.epoch,
      series: this.series,
      workers: this.workers(),
      stragglers: this.stragglerRecords,
      pictures: [...this.pictures.values()].map(publicPicture),
      notes: this.notes,
    };
  }

  private statusData(): Record<string, unknown> {
    return { status: this.status, step: this.stepsDone, totalSteps: this.totalSteps, epoch: this.epoch, samplesPerSecond: this.samplesPerSecond, ...(this.error !== undefined ? { error: this.error } : {}) };
  }

  private workers(): WorkerRow[] {
    const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
    return [...this.recent.entries()]
      .sort(([a], [b]) => a - b)
      .map(([rank, w]) => ({
        rank,
        host: w.host,
        step: w.step,
        computeMs: mean(w.times.map((t) => t[0])),
        waitMs: mean(w.times.map((t) => t[1])),
        collectiveMs: mean(w.times.map((t) => t[2])),
        straggler: this.stragglerNow.has(rank),
      }));
  }

  /** Sends the workers and status now, or once THROTTLE_MS has passed since the last time. */
  private throttled(): void {
    if (this.pending) return;
    const send = () => {
      this.pending = undefined;
      this.lastSent = Date.now();
      this.emit('workers', this.workers());
      this.emit('status', this.statusData());
    };
    const wait = this.lastSent + THROTTLE_MS - Date.now();
    if (wait <= 0) send();
    else this.pending = setTimeout(send, wait).unref();
  }
}

function publicPicture(p: PictureEntry): PictureEntry {
  return { name: p.name, url: p.url, step: p.step, updated: p.updated };
}
