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
import { fetchAgreed, startTraining, type JobContext, type JobResult, type Scores } from '../../coordinator/job-context.js';
import { evaluateTestSet, type EvaluationSums } from '../../coordinator/evaluation.js';
import { trainEpochs } from '../../coordinator/epoch-loop.js';
import { initBackend } from '../../tensor/backend.js';
import { saveModel } from '../../tensor/models/save.js';
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

/** A metrics window as checkpoints before the shared epoch loop kept it (absError: regression; metrics: the model module's). */
interface OldWindow {
  loss: number;
  correct: number;
  absError?: number;
  metrics?: Record<string, number>;
  count: number;
}

/** A kept window as the epoch loop's sums, whichever layout its checkpoint has. */
export function windowSums(kept: unknown): EvaluationSums {
  if (!kept || typeof kept !== 'object' || !('loss' in kept)) return kept as EvaluationSums;
  const w = kept as OldWindow;
  return { lossSum: w.loss, count: w.count, counts: { correct: w.correct, absError: w.absError ?? 0, ...w.metrics } };
}

/** Mean loss and accuracy (the workers count `correct`), or for regression the mean absolute error (they sum `absError`). */
export function testResult(sums: EvaluationSums, labels: Labels = 'classes'): Scores {
  const loss = sums.lossSum / sums.count;
  const scores: Scores = labels === 'values' ? { loss, meanAbsoluteError: (sums.counts.absError ?? 0) / sums.count } : { loss, accuracy: (sums.counts.correct ?? 0) / sums.count };
  for (const [key, sum] of Object.entries(sums.counts)) if (key.startsWith(METRIC_PREFIX)) scores[key.slice(METRIC_PREFIX.length)] = sum / sums.count;
  return scores;
}

export async function runClassifierJob(ctx: JobContext, spec: SupervisedJob, extension?: ClassifierExtension): Promise<JobResult> {
  // Build before the workers are waited for: this is the coordinator's one
  // long synchronous stretch, and no heartbeat is due yet.
  await initBackend('cpu');
  const labels = labelsOf(spec.train.loss);
  const data = await openData(spec.data, spec.seed, labels);
  const model = await buildJobModel(spec, data);
  const members = await startTraining(ctx, { model }, spec.train);
  const { workers, backend } = members;
  // Periodic evaluations (train.evalEvery, default every epoch): the model alone, on data.validation's split
  // where the job holds one out, else the test split.
  const { plan, samples, trainSeconds, last, evaluations } = await trainEpochs(ctx, {
    seed: spec.seed,
    trainSize: data.train.size,
    train: spec.train,
    members,
    trainScores: (sums) => testResult(sums, labels),
    initialScores: { loss: NaN, ...(labels === 'values' ? { meanAbsoluteError: NaN } : { accuracy: NaN }) },
    evaluation: {
      periodic: data.validation ? { split: 'validation', size: data.validation.size } : { split: 'test', size: data.test.size },
      score: (sums) => testResult(sums, labels),
    },
    keptWindow: windowSums,
  });
  const note = extension?.evaluationNote?.(data.test.size);
  if (note) ctx.progress.note(note);
  const sums = await evaluateTestSet(ctx, workers, data.test.size);
  const final = evaluations.record(plan.totalSteps, sums);
  await fetchAgreed(ctx, workers, [model]);
  await saveModel(model, join(ctx.outDir, 'model'));
  const sections = extension?.sections(ctx, { sums, model, data });
  return { backend, steps: plan.totalSteps, epochs: plan.totalSteps / plan.stepsPerEpoch, samples, trainSeconds, train: last, eval: final, sections: { evaluations: evaluations.list, ...sections } };
}
