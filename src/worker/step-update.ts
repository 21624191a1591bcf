/**
 * The end of a training step whose summed gradient is in the shared
 * gradient buffer, as a step program that updates through the strategy
 * (`ProgramDeps.update`) ends it: the update, timed as the step's
 * collective; the updated parameters written back into the networks; the
 * step's result, or a skipped step's (train.onNonFinite skip-step).
 */
import type { Counts, ProgramDeps, StepCommand, StepResult } from './step-program.js';

export interface StepSoFar {
  /** When the step began, and when its forward/backward pass did (after the data). */
  t0: number;
  computeFrom: number;
  lossSum: number;
  count: number;
  counts: Counts;
}

export async function updateAndFinish(d: Pick<ProgramDeps, 'update' | 'spans'>, cmd: StepCommand, s: StepSoFar, writeBack: () => void): Promise<StepResult> {
  const t1 = performance.now();
  d.spans?.add('forward/backward', s.computeFrom, t1);
  const applied = await d.update({ step: cmd.step, lr: cmd.lr, globalBatch: cmd.globalBatch });
  const t2 = performance.now();
  writeBack();
  const times = { computeMs: t1 - s.t0 + (performance.now() - t2), commMs: t2 - t1 };
  return applied ? { lossSum: s.lossSum, count: s.count, counts: s.counts, ...times } : { lossSum: 0, count: 0, ...times, counts: {}, skipped: true };
}
