/**
 * `dtrain attack`'s session: no training, only the evaluation. The job is an
 * adversarial job whose model is the saved model's topology; the workers
 * start from the saved parameters and batch-norm statistics and attack
 * their slices of the test set (test-eval.ts); the coordinator sums the
 * counts and draws the gallery.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluationNames } from './spec.js';
import type { DataSplits } from '../../data/dataset.js';
import type { AdversarialJob } from '../../spec/job-spec.js';
import { galleryOf, startWorkers, type JobContext, type JobResult } from '../../coordinator/job-loop.js';
import { evaluateTestSet } from '../../coordinator/evaluation.js';

/** Evaluates `model` (built from the job's topology, holding the saved values) on the job's test set under its attacks. */
export async function runAttack(ctx: JobContext, spec: AdversarialJob, model: LayersModel, data: DataSplits): Promise<JobResult> {
  const { workers } = await ctx.control.guard(ctx.membership.waitForAll());
  ctx.membership.startHeartbeats();
  const backend = await startWorkers(ctx, workers, [model], undefined);
  const a = spec.adversarial;
  ctx.progress.note(`attacking ${data.test.size} test samples with ${evaluationNames(a)} at ε ${a.epsilon} on ${workers.length} worker(s)`);
  const t0 = performance.now();
  const { result, adversarial } = await evaluateTestSet(ctx, workers, data.test.size, spec);
  const seconds = (performance.now() - t0) / 1000;
  const gallery = galleryOf(ctx, model, data.test, spec);
  return { backend, steps: 0, epochs: 0, samples: data.test.size, trainSeconds: seconds, train: null, eval: result, ...(adversarial ? { adversarial } : {}), ...(gallery ? { gallery } : {}) };
}
