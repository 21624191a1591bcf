/**
 * What watches a running job from the coordinator: every finished step with
 * each worker's report, every evaluation, and the coordinator's own spans.
 * Prometheus metrics, the timeline, straggler detection and the dashboard
 * each implement the part they need; `Observers` hands every event to all.
 */
import type { FlatSpans, Lane } from './spans.js';
import type { StragglerSummary } from './stragglers.js';

/** A worker's report of one step, with its rank and host. */
export interface StepReport {
  rank: number;
  host?: string;
  count: number;
  computeMs: number;
  commMs: number;
  skipped?: boolean;
  /** The step's collectives: the wait for a peer's first word, the exchange after it, the bytes summed. */
  waitMs?: number;
  reduceMs?: number;
  reduceBytes?: number;
  /** Messages the worker dropped as malformed this session (cumulative). */
  dropped?: number;
  /** The worker's timeline since its last report (train.trace), and how many spans it left out. */
  spans?: FlatSpans;
  spansDropped?: number;
}

/** A worker's answer to one round of an evaluation. */
export interface EvalReport {
  rank: number;
  host?: string;
  spans?: FlatSpans;
  spansDropped?: number;
}

export interface JobObserver {
  /** The steps the job runs in all (a resumed session's earlier ones included). */
  planned?(totalSteps: number): void;
  /** Every worker's report of `step` (0-based), and the step's wall time since the previous one. */
  step?(step: number, reports: StepReport[], seconds: number): void;
  /** An evaluation of the test set, its wall time and every worker's answers to it. */
  evaluation?(seconds: number, reports: EvalReport[]): void;
  /** A span of the coordinator's own work, in ms since the epoch (observe/spans.ts). */
  span?(lane: Lane, start: number, end: number): void;
  /** The coordinator dropped a malformed message. */
  droppedMessage?(): void;
  /** A member was lost and the job goes on in a new session. */
  recovery?(): void;
  /** The workers named stragglers now, and every straggler period so far (observe/straggler-watch.ts). */
  stragglers?(current: number[], records: StragglerSummary): void;
}

/** Hands each event to every observer. */
export class Observers implements JobObserver {
  private readonly list: JobObserver[];
  constructor(list: (JobObserver | undefined)[]) {
    this.list = list.filter((o): o is JobObserver => o !== undefined);
  }
  planned(totalSteps: number): void {
    for (const o of this.list) o.planned?.(totalSteps);
  }
  step(step: number, reports: StepReport[], seconds: number): void {
    for (const o of this.list) o.step?.(step, reports, seconds);
  }
  evaluation(seconds: number, reports: EvalReport[]): void {
    for (const o of this.list) o.evaluation?.(seconds, reports);
  }
  span(lane: Lane, start: number, end: number): void {
    for (const o of this.list) o.span?.(lane, start, end);
  }
  droppedMessage(): void {
    for (const o of this.list) o.droppedMessage?.();
  }
  recovery(): void {
    for (const o of this.list) o.recovery?.();
  }
  stragglers(current: number[], records: StragglerSummary): void {
    for (const o of this.list) o.stragglers?.(current, records);
  }
}
