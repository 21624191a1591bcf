/**
 * The training loop of a job that goes through its training set in
 * epochs of shuffled global batches (supervised, vae, seq2seq): the plan,
 * each step's header and batch, the summed metrics window logged every
 * `train.logEvery` steps, the progress, the periodic evaluations and the
 * checkpoints. The job type says how its sums become scores; everything
 * the loop keeps (window, last figures, evaluations) is in the
 * checkpoint, so a resumed run logs what an undisturbed one does.
 */
import { BatchSchedule, planSteps, type StepPlan } from '../data/sharding.js';
import type { LrDecaySpec } from '../spec/job-spec.js';
import { lrAt } from '../tensor/schedule.js';
import type { EvaluationSums } from './evaluation.js';
import { checkpointAfter, type JobContext, type Scores, type StartedMembers } from './job-context.js';
import { stepTimes } from './metrics.js';
import { Evaluations, type Evaluation, type EvaluationPlan } from './periodic-evaluation.js';
import { runSteps, type StepSource } from './step-loop.js';

export interface EpochLoop<S extends object> {
  seed: number;
  trainSize: number;
  train: { batchSize: number; epochs: number; maxSteps?: number; logEvery: number; evalEvery?: number; optimizer: { lr: number }; lrDecay: LrDecaySpec };
  /** The started members (startTraining). */
  members: StartedMembers;
  /** The job type's training figures of a window's sums (loss and counts over its samples). */
  trainScores: (sums: EvaluationSums) => Scores;
  /** The last figures before any window is logged. */
  initialScores: Scores;
  /** The evaluations' split and scores. */
  evaluation: Pick<EvaluationPlan<S>, 'periodic' | 'score' | 'logged'>;
  /** The job's 'training' log line: what it trains, beside the plan and the members. */
  logged?: Record<string, unknown>;
  /** Turns a window a checkpoint from an older layout kept into sums (the supervised type's). */
  keptWindow?: (kept: unknown) => EvaluationSums;
}

export interface EpochLoopResult<S extends object> {
  plan: StepPlan;
  samples: number;
  /** Training time, without the periodic evaluations'. */
  trainSeconds: number;
  /** The last logged training figures. */
  last: Scores;
  evaluations: Evaluations<S>;
}

const empty = (): EvaluationSums => ({ lossSum: 0, count: 0, counts: {} });

export async function trainEpochs<S extends object>(ctx: JobContext, o: EpochLoop<S>): Promise<EpochLoopResult<S>> {
  const { train } = o;
  const { workers, shards, staleness } = o.members;
  const plan = planSteps(o.trainSize, train.batchSize, train.epochs, train.maxSteps);
  const schedule = new BatchSchedule(o.seed, o.trainSize, train.batchSize, plan);
  ctx.log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, shards: shards.length, backend: o.members.backend, ...o.logged }, 'training');
  const lr = (step: number) => lrAt(train.optimizer.lr, train.lrDecay, step, plan.totalSteps);
  const kept = ctx.resume?.loop as { window: unknown; last: Scores; evaluations?: Evaluation[] } | undefined;
  const evaluations = new Evaluations(ctx, workers, { ...o.evaluation, every: train.evalEvery, stepsPerEpoch: plan.stepsPerEpoch, totalSteps: plan.totalSteps, kept: kept?.evaluations });
  let window = kept ? (o.keptWindow?.(kept.window) ?? (kept.window as EvaluationSums)) : empty();
  let last = kept?.last ?? o.initialScores;
  const source: StepSource = {
    totalSteps: plan.totalSteps,
    command: (step) => {
      const batch = schedule.batch(step);
      return { header: { step, epoch: schedule.epochOf(step), lr: lr(step), globalBatch: batch.length }, batch };
    },
  };
  const checkpointed = { workers, shards, networks: o.members.networks, loop: () => ({ window, last, evaluations: evaluations.list }) };
  const t0 = performance.now();
  ctx.checkpoints.start(plan.totalSteps, plan.stepsPerEpoch);
  const samples = await runSteps(ctx, workers, source, staleness, async (step, done, rate) => {
    for (const { header: h } of done) {
      window.lossSum += h.lossSum;
      window.count += h.count;
      for (const [k, v] of Object.entries(h.counts)) window.counts[k] = (window.counts[k] ?? 0) + v;
    }
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.lossSum / window.count, samplesPerSecond: rate });
    // (A window of skipped steps only, train.onNonFinite skip-step, has no figures to log.)
    if (((step + 1) % train.logEvery === 0 || step + 1 === plan.totalSteps) && window.count > 0) {
      last = o.trainScores(window);
      ctx.metrics.log({ epoch: schedule.epochOf(step), lr: lr(step), ...last, samplesPerSecond: rate, ...stepTimes(done.map((d) => d.header)) }, step + 1);
      window = empty();
    }
    await evaluations.after(step);
    await checkpointAfter(ctx, step, checkpointed);
  }, ctx.resume?.step, evaluations.due);
  ctx.checkpoints.finish();
  const trainSeconds = (performance.now() - t0) / 1000 - evaluations.seconds;
  ctx.progress.done();
  return { plan, samples, trainSeconds, last, evaluations };
}
