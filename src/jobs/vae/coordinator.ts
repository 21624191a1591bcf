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
import { BatchSchedule, planSteps } from '../../data/sharding.js';
import { Evaluations, type Evaluation } from '../../coordinator/periodic-evaluation.js';
import { evaluateTestSet, type EvaluationSums } from '../../coordinator/evaluation.js';
import { checkpointAfter, fetchAgreed, restoreCheckpoint, startShards, startWorkers, waitForMembers, type JobContext, type JobResult, type Scores } from '../../coordinator/job-context.js';
import { savePicture, stepTimes } from '../../coordinator/metrics.js';
import { runSteps, type StepSource } from '../../coordinator/step-loop.js';
import { psSettings } from '../../spec/job-spec.js';
import { initBackend } from '../../tensor/backend.js';
import { readAllParams } from '../../tensor/flat.js';
import { saveModel } from '../../tensor/models/save.js';
import { lrAt } from '../../tensor/schedule.js';
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
  const list = [networks.encoder, networks.decoder];
  const ps = psSettings(spec.cluster);
  const resumed = await restoreCheckpoint(ctx, { ...networks }, ps !== undefined);
  const { workers, shards } = await waitForMembers(ctx);
  const rule = { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm };
  const collective = await startShards(ctx, shards, readAllParams(list), rule, ps?.staleness, resumed.shards);
  const backend = await startWorkers(ctx, workers, list, collective, resumed.workers, resumed.replicaStates);
  const plan = planSteps(data.train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  ctx.log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, shards: shards.length, backend, latent: spec.vae.latent, beta: spec.vae.beta }, 'training a vae');
  const lr = (step: number) => lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps);
  const source: StepSource = {
    totalSteps: plan.totalSteps,
    command: (step) => {
      const batch = schedule.batch(step);
      return { header: { step, epoch: schedule.epochOf(step), lr: lr(step), globalBatch: batch.length }, batch };
    },
  };
  // The metric window and the last logged figures: a checkpoint keeps them, so a resumed run logs what an undisturbed one does.
  const kept = ctx.resume?.loop as { window: Sums; last: Scores; evaluations?: Evaluation[] } | undefined;
  // The test ELBO every train.evalEvery steps (default each epoch's end), as a curve.
  const evaluations = new Evaluations(ctx, workers, {
    every: spec.train.evalEvery,
    stepsPerEpoch: plan.stepsPerEpoch,
    totalSteps: plan.totalSteps,
    periodic: { split: 'test', size: data.test.size },
    score: (sums) => vaeScores(sumsOf(sums)),
    kept: kept?.evaluations,
  });
  const fresh = (): Sums => ({ loss: 0, reconstruction: 0, kl: 0, count: 0 });
  let window = kept?.window ?? fresh();
  let last: Scores = kept?.last ?? { loss: NaN };
  const checkpointed = { workers, shards, networks: { ...networks }, loop: () => ({ window, last, evaluations: evaluations.list }) };
  const t0 = performance.now();
  ctx.checkpoints.start(plan.totalSteps, plan.stepsPerEpoch);
  const samples = await runSteps(ctx, workers, source, ps?.staleness, async (step, done, rate) => {
    for (const { header: h } of done) {
      window = { loss: window.loss + h.lossSum, reconstruction: window.reconstruction + (h.counts.reconstruction ?? 0), kl: window.kl + (h.counts.kl ?? 0), count: window.count + h.count };
    }
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.loss / window.count, samplesPerSecond: rate });
    // (A window of skipped steps only, train.onNonFinite skip-step, has no figures to log.)
    if (((step + 1) % spec.train.logEvery === 0 || step + 1 === plan.totalSteps) && window.count > 0) {
      last = vaeScores(window);
      ctx.metrics.log({ epoch: schedule.epochOf(step), lr: lr(step), ...(last as Record<string, number>), samplesPerSecond: rate, ...stepTimes(done.map((d) => d.header)) }, step + 1);
      window = fresh();
    }
    await evaluations.after(step);
    await checkpointAfter(ctx, step, checkpointed);
  }, ctx.resume?.step, evaluations.due);
  ctx.checkpoints.finish();
  const trainSeconds = (performance.now() - t0) / 1000 - evaluations.seconds;
  ctx.progress.done();
  const final = evaluations.record(plan.totalSteps, await evaluateTestSet(ctx, workers, data.test.size));
  ctx.log.info({ ...final }, 'vae evaluated');
  await fetchAgreed(ctx, workers, list);
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
