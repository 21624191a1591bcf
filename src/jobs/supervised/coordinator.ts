/**
 * The coordinator's side of a job that trains one classifier (supervised,
 * and adversarial through a ClassifierExtension): build the model, start
 * the shards and workers, run the steps of the epochs' batch schedule,
 * evaluate on the test set, save the model to DIR/model.
 */
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { DataSplits, Labels } from '../../data/dataset.js';
import { openData } from '../../data/load.js';
import { BatchSchedule, planSteps } from '../../data/sharding.js';
import { checkpointAfter, fetchAgreed, restoreCheckpoint, startShards, startWorkers, waitForMembers, type JobContext, type JobResult, type Scores } from '../../coordinator/job-context.js';
import { evaluateTestSet, type EvaluationSums } from '../../coordinator/evaluation.js';
import { Evaluations, type Evaluation } from '../../coordinator/periodic-evaluation.js';
import { runSteps, type StepSource } from '../../coordinator/step-loop.js';
import { stepTimes } from '../../coordinator/metrics.js';
import { psSettings } from '../../spec/job-spec.js';
import { initBackend } from '../../tensor/backend.js';
import { readAllParams } from '../../tensor/flat.js';
import { saveModel } from '../../tensor/models/save.js';
import { lrAt } from '../../tensor/schedule.js';
import { labelsOf, METRIC_PREFIX } from '../../tensor/objective.js';
import { buildJobModel } from './model.js';
import type { SupervisedJob } from './spec.js';

/** What a job type built on the supervised one adds around the evaluation. */
export interface ClassifierExtension {
  /** A note shown before the test-set evaluation starts. */
  evaluationNote?(testSize: number): string;
  /** Its summary.json sections, from the evaluation's sums and the trained model (which it may draw). */
  sections(ctx: JobContext, e: { sums: EvaluationSums; model: LayersModel; data: DataSplits }): Record<string, unknown>;
}

/** A metrics window's sums (absError: regression; metrics: the model module's; absent in checkpoints from before them). */
interface Window {
  loss: number;
  correct: number;
  absError?: number;
  metrics?: Record<string, number>;
  count: number;
}

/** Mean loss and accuracy (the workers count `correct`), or for regression the mean absolute error (they sum `absError`). */
export function testResult(sums: EvaluationSums, labels: Labels = 'classes'): Scores {
  const loss = sums.lossSum / sums.count;
  const scores: Scores = labels === 'values' ? { loss, meanAbsoluteError: (sums.counts.absError ?? 0) / sums.count } : { loss, accuracy: (sums.counts.correct ?? 0) / sums.count };
  for (const [key, sum] of Object.entries(sums.counts)) if (key.startsWith(METRIC_PREFIX)) scores[key.slice(METRIC_PREFIX.length)] = sum / sums.count;
  return scores;
}

export async function runClassifierJob(ctx: JobContext, spec: SupervisedJob, extension?: ClassifierExtension): Promise<JobResult> {
  const { log } = ctx;
  // Build before the workers are waited for: this is the coordinator's one
  // long synchronous stretch, and no heartbeat is due yet.
  await initBackend('cpu');
  const labels = labelsOf(spec.train.loss);
  const data = await openData(spec.data, spec.seed, labels);
  const model = await buildJobModel(spec, data);
  const ps = psSettings(spec.cluster);
  const resumed = await restoreCheckpoint(ctx, { model }, ps !== undefined);
  const { workers, shards } = await waitForMembers(ctx);
  const initial = readAllParams([model]);
  const collective = await startShards(ctx, shards, initial, spec.train, ps?.staleness, resumed.shards);
  const backend = await startWorkers(ctx, workers, [model], collective, resumed.workers, resumed.replicaStates);
  const plan = planSteps(data.train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, shards: shards.length, backend }, 'training');
  const lr = (step: number) => lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps);
  // The metric window and the last logged figures: a checkpoint keeps them, so a resumed run logs what an undisturbed one does.
  const kept = ctx.resume?.loop as { window: Window; last: Scores; evaluations?: Evaluation[] } | undefined;
  // Periodic evaluations (train.evalEvery, default every epoch): a barrier after the step, the model alone,
  // on data.validation's split where the job holds one out, else the test split.
  const evaluations = new Evaluations(ctx, workers, {
    every: spec.train.evalEvery,
    stepsPerEpoch: plan.stepsPerEpoch,
    totalSteps: plan.totalSteps,
    periodic: data.validation ? { split: 'validation', size: data.validation.size } : { split: 'test', size: data.test.size },
    score: (sums) => testResult(sums, labels),
    kept: kept?.evaluations,
  });
  const fresh = (): Window => ({ loss: 0, correct: 0, absError: 0, count: 0 });
  let window = kept?.window ?? fresh();
  let last: Scores = kept?.last ?? { loss: NaN, ...(labels === 'values' ? { meanAbsoluteError: NaN } : { accuracy: NaN }) };
  const source: StepSource = {
    totalSteps: plan.totalSteps,
    command: (step) => {
      const batch = schedule.batch(step);
      return { header: { step, epoch: schedule.epochOf(step), lr: lr(step), globalBatch: batch.length }, batch };
    },
  };
  const t0 = performance.now();
  const checkpointed = { workers, shards, networks: { model }, loop: () => ({ window, last, evaluations: evaluations.list }) };
  ctx.checkpoints.start(plan.totalSteps, plan.stepsPerEpoch);
  const samples = await runSteps(ctx, workers, source, ps?.staleness, async (step, done, rate) => {
    for (const d of done) {
      window.loss += d.header.lossSum;
      window.correct += d.header.counts.correct ?? 0;
      window.absError = (window.absError ?? 0) + (d.header.counts.absError ?? 0);
      for (const [key, v] of Object.entries(d.header.counts)) if (key.startsWith(METRIC_PREFIX)) (window.metrics ??= {})[key] = (window.metrics[key] ?? 0) + v;
      window.count += d.header.count;
    }
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.loss / window.count, samplesPerSecond: rate });
    // (A window of skipped steps only, train.onNonFinite skip-step, has no figures to log.)
    if (((step + 1) % spec.train.logEvery === 0 || step + 1 === plan.totalSteps) && window.count > 0) {
      last = testResult({ lossSum: window.loss, count: window.count, counts: { correct: window.correct, absError: window.absError ?? 0, ...window.metrics } }, labels);
      ctx.metrics.log({ epoch: schedule.epochOf(step), lr: lr(step), ...last, samplesPerSecond: rate, ...stepTimes(done.map((d) => d.header)) }, step + 1);
      window = fresh();
    }
    await evaluations.after(step);
    await checkpointAfter(ctx, step, checkpointed);
  }, ctx.resume?.step, evaluations.due);
  ctx.checkpoints.finish();
  const trainSeconds = (performance.now() - t0) / 1000 - evaluations.seconds;
  ctx.progress.done();
  const note = extension?.evaluationNote?.(data.test.size);
  if (note) ctx.progress.note(note);
  const sums = await evaluateTestSet(ctx, workers, data.test.size);
  const final = evaluations.record(plan.totalSteps, sums);
  await fetchAgreed(ctx, workers, [model]);
  await saveModel(model, join(ctx.outDir, 'model'));
  const sections = extension?.sections(ctx, { sums, model, data });
  return { backend, steps: plan.totalSteps, epochs: plan.totalSteps / plan.stepsPerEpoch, samples, trainSeconds, train: last, eval: final, sections: { evaluations: evaluations.list, ...sections } };
}
