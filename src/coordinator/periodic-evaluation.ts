/**
 * A job's evaluations, whatever its type: the periodic ones between steps
 * (`train.evalEvery`: every this many steps, by default at each epoch's
 * end, 0 only the final one), on the held-out split, and the final one on
 * the test split. Each is kept for summary.json's `evaluations` (a
 * checkpoint keeps the list, so a resumed run reports what an undisturbed
 * one does) and logged at its step as eval/* or validation/* (metrics,
 * TensorBoard, plots, dashboard). The job type turns the workers' sums
 * into its scores.
 */
import type { EvalSplit } from '../data/dataset.js';
import { evaluateTestSet, type EvaluationSums } from './evaluation.js';
import type { JobContext } from './job-context.js';
import type { WorkerInfo } from './membership.js';

/** One evaluation in summary.json's `evaluations`: its step, its scores and (for data.validation) its split. */
export type Evaluation = { step: number; split?: 'validation' } & Record<string, number | string | undefined>;

export interface EvaluationPlan<S> {
  /** train.evalEvery (undefined: each epoch's end; 0: none between steps). */
  every: number | undefined;
  stepsPerEpoch: number;
  totalSteps: number;
  /** What the periodic evaluations read: data.validation's split where the job holds one out, else the test split. */
  periodic: { split: EvalSplit; size: number };
  /** The job type's scores of the workers' sums. */
  score: (sums: EvaluationSums) => S;
  /** The numbers of the scores that are logged (default: the scores' numeric fields). */
  logged?: (scores: S) => Record<string, number>;
  /** The list a checkpoint kept (a resumed run). */
  kept?: Evaluation[];
}

export class Evaluations<S extends object> {
  readonly list: Evaluation[];
  /** Seconds spent in periodic evaluations (not training time). */
  seconds = 0;
  private readonly every: number;

  constructor(
    private readonly ctx: JobContext,
    private readonly workers: WorkerInfo[],
    private readonly plan: EvaluationPlan<S>,
  ) {
    this.list = plan.kept ?? [];
    this.every = plan.every ?? plan.stepsPerEpoch;
  }

  /** Whether an evaluation follows `step`: runSteps holds the next steps back for it. */
  readonly due = (step: number): boolean => this.every > 0 && (step + 1) % this.every === 0 && step + 1 < this.plan.totalSteps;

  /** After `step`'s update: the periodic evaluation, if one is due (the model alone: no extra passes such as attacks). */
  async after(step: number): Promise<void> {
    if (!this.due(step)) return;
    const t0 = performance.now();
    const { split, size } = this.plan.periodic;
    const scores = this.record(step + 1, await evaluateTestSet(this.ctx, this.workers, size, true, split), split);
    this.ctx.log.info({ step: step + 1, split, ...this.numbers(scores) }, 'evaluated');
    this.seconds += (performance.now() - t0) / 1000;
  }

  /** An evaluation's scores, kept and logged at step `at`. */
  record(at: number, sums: EvaluationSums, split: EvalSplit = 'test'): S {
    const scores = this.plan.score(sums);
    const numbers = this.numbers(scores);
    this.list.push({ step: at, ...numbers, ...(split === 'validation' ? { split } : {}) });
    this.ctx.metrics.log(numbers, at, split === 'validation' ? 'validation' : 'eval');
    return scores;
  }

  private numbers(scores: S): Record<string, number> {
    if (this.plan.logged) return this.plan.logged(scores);
    return Object.fromEntries(Object.entries(scores).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }
}
