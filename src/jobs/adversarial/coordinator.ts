/**
 * The coordinator's side of an adversarial job: a supervised job's
 * (../supervised/coordinator.ts) whose evaluation also counts the test
 * samples still classified right under attack, and which draws the gallery.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { inMemory, type Dataset, type DataSplits } from '../../data/dataset.js';
import type { EvaluationSums } from '../../coordinator/evaluation.js';
import type { JobContext } from '../../coordinator/job-context.js';
import type { ClassifierExtension } from '../supervised/coordinator.js';
import { GALLERY_FILE, gallery, hasGallery } from './gallery.js';
import { savePicture } from '../../coordinator/metrics.js';
import { correctUnder, evalStepSize, evaluationNames, type AdversarialJob } from './spec.js';

export interface RobustAccuracy {
  epsilon: number;
  clean: number;
  /** Test accuracy under FGSM (absent when evalAttacks leaves it out). */
  fgsm?: number;
  /** Test accuracy under PGD with `pgdSteps` steps from a random start (absent when evalAttacks leaves it out). */
  pgd?: number;
  pgdSteps: number;
  /** The PGD step size. */
  pgdStepSize: number;
}

/** summary.json's `adversarial` section from the evaluation's sums. */
export function robustAccuracy(spec: AdversarialJob, sums: EvaluationSums): RobustAccuracy {
  const a = spec.adversarial;
  const r: RobustAccuracy = { epsilon: a.epsilon, clean: (sums.counts.correct ?? 0) / sums.count, pgdSteps: a.evalSteps, pgdStepSize: evalStepSize(a) };
  for (const kind of a.evalAttacks) r[kind] = (sums.counts[correctUnder(kind)] ?? 0) / sums.count;
  return r;
}

/** The supervised job's loop with the attacks' accuracy and the gallery added. */
export function adversarialExtension(spec: AdversarialJob): ClassifierExtension {
  return {
    evaluationNote: (testSize) => `evaluating on ${testSize} test samples: clean, ${evaluationNames(spec.adversarial)} at ε ${spec.adversarial.epsilon}`,
    sections: (ctx, e) => adversarialSections(ctx, spec, e),
  };
}

/** summary.json's sections of an adversarial evaluation (training's, or dtrain attack's): the accuracy under attack, and the gallery for images. */
export function adversarialSections(ctx: JobContext, spec: AdversarialJob, { sums, model, data }: { sums: EvaluationSums; model: LayersModel; data: DataSplits }): Record<string, unknown> {
  // The gallery pictures the first test images, in memory (a data module's are read by the workers only).
  const gallery = inMemory(data.test) ? galleryOf(ctx, model, data.test, spec) : undefined;
  const robust = robustAccuracy(spec, sums);
  // The accuracy under attack joins the eval curves (accuracy.png, TensorBoard's eval/fgsmAccuracy, eval/pgdAccuracy).
  const underAttack: Record<string, number> = {};
  for (const kind of spec.adversarial.evalAttacks) if (robust[kind] !== undefined) underAttack[`${kind}Accuracy`] = robust[kind];
  ctx.metrics.log(underAttack, ctx.reached.steps, 'eval');
  return { adversarial: robust, ...(gallery ? { gallery } : {}) };
}

/** Writes the adversarial gallery of the first test images into the output folder (images only); returns its file name. */
function galleryOf(ctx: JobContext, model: LayersModel, test: Dataset, spec: AdversarialJob): string | undefined {
  if (!hasGallery(test)) return undefined;
  const { raster, rows: n } = gallery(model, test, spec);
  savePicture(ctx.outDir, ctx.metrics, 'gallery', GALLERY_FILE, raster, ctx.reached.steps);
  ctx.log.info({ file: GALLERY_FILE, images: n }, 'gallery written');
  return GALLERY_FILE;
}
