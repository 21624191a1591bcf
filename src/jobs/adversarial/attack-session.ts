/**
 * `dtrain attack`'s session: no training, only the evaluation. The job is an
 * adversarial job whose model is the saved model's topology; the workers
 * start from the saved parameters and batch-norm statistics and attack
 * their slices of the test set (coordinator/evaluation.ts); the coordinator
 * sums the counts and draws the gallery.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { DataSplits } from '../../data/dataset.js';
import { evaluateTestSet } from '../../coordinator/evaluation.js';
import { startWorkers, waitForMembers, type JobContext, type JobResult } from '../../coordinator/job-context.js';
import { testResult } from '../supervised/coordinator.js';
import { adversarialSections } from './coordinator.js';
import { evaluationNames, type AdversarialJob } from './spec.js';

/** Evaluates `model` (built from the job's topology, holding the saved values) on the job's test set under its attacks. */
export async function runAttack(ctx: JobContext, spec: AdversarialJob, model: LayersModel, data: DataSplits): Promise<JobResult> {
  const { workers } = await waitForMembers(ctx);
  const backend = await startWorkers(ctx, workers, [model], undefined);
  const a = spec.adversarial;
  ctx.progress.note(`attacking ${data.test.size} test samples with ${evaluationNames(a)} at ε ${a.epsilon} on ${workers.length} worker(s)`);
  const t0 = performance.now();
  const sums = await evaluateTestSet(ctx, workers, data.test.size);
  const seconds = (performance.now() - t0) / 1000;
  const sections = adversarialSections(ctx, spec, { sums, model, data });
  return { backend, steps: 0, epochs: 0, samples: data.test.size, trainSeconds: seconds, train: null, eval: testResult(sums), sections };
}
