/**
 * The coordinator's side of a VAE job. The message sequence is a
 * supervised job's (start, the epochs' steps, eval, agree, fetchParams,
 * stop), with these differences:
 *   - the flat parameters are [encoder | decoder], updated by one optimizer
 *     (on the workers in strategy ring, on the shards in strategy ps);
 *   - the workers report each step's and each evaluation slice's sums of
 *     the reconstruction and KL terms (`counts`), added up here;
 *   - the evaluation's result is the test set's mean ELBO and its terms;
 *   - the networks are saved to DIR/encoder and DIR/decoder, and on image
 *     data DIR/samples.png and DIR/reconstructions.png are drawn from them
 *     (and handed to TensorBoard).
 */
import { join } from 'node:path';
import { readSamples, type DataSplits } from '../../data/dataset.js';
import { trainEpochs } from '../../coordinator/epoch-loop.js';
import { evaluateTestSet, type EvaluationSums } from '../../coordinator/evaluation.js';
import { fetchAgreed, startTraining, type JobContext, type JobResult, type Scores } from '../../coordinator/job-context.js';
import { savePicture } from '../../coordinator/metrics.js';
import { initBackend } from '../../tensor/backend.js';
import { saveModel } from '../../tensor/models/save.js';
import { loadVaeData } from './data.js';
import { buildVae, type VaeNetworks } from './networks.js';
import { pictured, reconstructionsPicture, samplesPicture } from './pictures.js';
import type { VaeJob } from './spec.js';

/** Image pixels drawn 2 × 2 in the pictures. */
const PICTURE_ZOOM = 2;

/** The `vae` section of summary.json. */
export interface VaeSection {
  latent: number;
  beta: number;
  /** The pictures written in the run folder (none for data that are not images). */
  pictures: string[];
}

/** Sums of the loss (KL weighed by β), the two terms and the samples: a metrics window's or the test set's. */
interface Sums {
  loss: number;
  reconstruction: number;
  kl: number;
  count: number;
}

/** Means per sample: loss (the training objective, KL weighed by β), elbo = −(reconstruction + KL), the two terms; in nats. */
export function vaeScores(s: Sums): Scores {
  const reconstruction = s.reconstruction / s.count;
  const kl = s.kl / s.count;
  return { loss: s.loss / s.count, elbo: -(reconstruction + kl), reconstruction, kl };
}

const sumsOf = (e: EvaluationSums): Sums => ({ loss: e.lossSum, reconstruction: e.counts.reconstruction ?? 0, kl: e.counts.kl ?? 0, count: e.count });

export async function runVaeJob(ctx: JobContext, spec: VaeJob): Promise<JobResult> {
  // Build before the workers are waited for: the coordinator's one long synchronous stretch.
  await initBackend('cpu');
  const data = await loadVaeData(spec);
  const networks = buildVae(spec.model, spec.vae.latent, data.train.featureShape, spec.seed);
  // Both networks in one flat buffer (encoder, decoder: VaeNetworks' order), under one optimizer.
  const members = await startTraining(ctx, { ...networks }, spec.train);
  const { workers, backend } = members;
  // The test ELBO every train.evalEvery steps (default each epoch's end), as a curve.
  const { plan, samples, trainSeconds, last, evaluations } = await trainEpochs(ctx, {
    seed: spec.seed,
    trainSize: data.train.size,
    train: spec.train,
    members,
    trainScores: (sums) => vaeScores(sumsOf(sums)),
    initialScores: { loss: NaN },
    evaluation: { periodic: { split: 'test', size: data.test.size }, score: (sums) => vaeScores(sumsOf(sums)) },
    logged: { latent: spec.vae.latent, beta: spec.vae.beta },
  });
  const final = evaluations.record(plan.totalSteps, await evaluateTestSet(ctx, workers, data.test.size));
  ctx.log.info({ ...final }, 'vae evaluated');
  await fetchAgreed(ctx, workers, [networks.encoder, networks.decoder]);
  await saveModel(networks.encoder, join(ctx.outDir, 'encoder'));
  await saveModel(networks.decoder, join(ctx.outDir, 'decoder'));
  const pictures = await drawPictures(ctx, spec, networks, data, plan.totalSteps);
  const section: VaeSection = { latent: spec.vae.latent, beta: spec.vae.beta, pictures };
  return { backend, steps: plan.totalSteps, epochs: plan.totalSteps / plan.stepsPerEpoch, samples, trainSeconds, train: last, eval: final, sections: { evaluations: evaluations.list, vae: section } };
}

/** On image data: DIR/samples.png and DIR/reconstructions.png (of the first test images), also to TensorBoard at `step`. */
async function drawPictures(ctx: JobContext, spec: VaeJob, nets: VaeNetworks, data: DataSplits, step: number): Promise<string[]> {
  const shape = data.test.featureShape;
  if (!pictured(shape)) return [];
  savePicture(ctx.outDir, ctx.metrics, 'samples', 'samples.png', samplesPicture(nets.decoder, spec.seed, spec.vae.samples, shape, PICTURE_ZOOM), step);
  const count = Math.min(spec.vae.reconstructions, data.test.size);
  const first = Int32Array.from({ length: count }, (_, i) => i);
  const images = (await readSamples(data.test, first)).x;
  savePicture(ctx.outDir, ctx.metrics, 'reconstructions', 'reconstructions.png', reconstructionsPicture(nets.encoder, nets.decoder, images, count, shape, PICTURE_ZOOM), step);
  return ['samples.png', 'reconstructions.png'];
}
