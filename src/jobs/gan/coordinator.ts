/**
 * The coordinator's side of a GAN job. The message sequence is a supervised
 * job's (start, steps, fetchParams, stop) with these differences:
 *   - the flat parameters are [generator | discriminator];
 *   - the steps are Algorithm 1's: per iteration k discriminator steps, each
 *     with a fresh whole minibatch of real data, then a generator step (its
 *     command carries a batch of placeholder indices: only the count and
 *     the shard's offset matter, for the noise);
 *   - every gan.sampleEvery iterations, a `fetchParams` to rank 0 between
 *     steps gives the generator for a picture of its samples in
 *     DIR/samples/ (the step is a barrier of the step loop: no later step
 *     has gone out, so rank 0's generator, batch-norm statistics included,
 *     is exactly that iteration's, whether or not a checkpoint falls there);
 *   - there is no `eval`: the coordinator draws samples from the trained
 *     generator itself and scores them (evaluation.ts);
 *   - the networks are saved to DIR/generator and DIR/discriminator.
 */
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../tensor/backend.js';
import type { DataSplits } from '../../data/dataset.js';
import { epochOfStep, ganPlan, phaseOf, realSchedule, stepLr, type GanPhase } from './plan.js';
import type { Message } from '../../wire/messages.js';
import { samplePicture } from './samples.js';
import { savePicture } from '../../coordinator/metrics.js';
import { loadGanData } from './data.js';
import type { GanJob } from './spec.js';
import { buildGan } from './zoo.js';
import { saveModel } from '../../tensor/models/save.js';
import { evaluateGan, loadClassifier, type GanEvaluation } from './evaluation.js';
import { checkpointAfter, fetchAgreed, fetchInto, restoreCheckpoint, startWorkers, waitForMembers, type JobContext, type JobResult } from '../../coordinator/job-context.js';
import { runSteps, type StepSource } from '../../coordinator/step-loop.js';

/** Image pixels drawn 2 × 2 in the pictures (as `dtrain sample` does by default). */
const PICTURE_ZOOM = 2;

export interface GanScore extends GanEvaluation {
  /** Mean discriminator and generator losses per sample over the last logged window. */
  dLoss: number;
  gLoss: number;
  iterations: number;
  samples: number;
  /** The pictures of generated samples written to DIR/samples/. */
  pictures: string[];
}

export async function runGanJob(ctx: JobContext, spec: GanJob): Promise<JobResult> {
  await initBackend('cpu');
  const data = await loadGanData(spec);
  const models = buildGan(spec.generator, spec.discriminator, spec.gan.latentDim, data.train.featureShape, spec.seed);
  // Before any worker starts: a classifier that cannot score this data fails the job now, not after training.
  const classifier = spec.gan.classifier === undefined ? undefined : await loadClassifier(spec.gan.classifier, data);
  const resumed = await restoreCheckpoint(ctx, { ...models }, false);
  const { workers } = await waitForMembers(ctx);
  const networks = [models.generator, models.discriminator];
  const backend = await startWorkers(ctx, workers, networks, undefined, resumed.workers, resumed.replicaStates);
  const B = spec.train.batchSize;
  const plan = ganPlan(data.train.size, B, spec.train.epochs, spec.gan.dSteps, spec.train.maxSteps);
  if (plan.iterations === 0) throw new Error(`no whole iteration: ${data.train.size} samples in batches of ${B} give ${plan.realBatchesPerEpoch} a epoch, fewer than gan.dSteps (${spec.gan.dSteps}) over ${spec.train.epochs} epoch(s)`);
  const real = realSchedule(spec.seed, data.train.size, B, plan);
  const noiseOnly = new Int32Array(B);
  ctx.log.info({ iterations: plan.iterations, steps: plan.totalSteps, dSteps: plan.dSteps, workers: workers.length, backend }, 'training a gan');
  const source: StepSource = {
    totalSteps: plan.totalSteps,
    command: (step) => {
      const at = phaseOf(plan, step);
      const header = { step, epoch: epochOfStep(real, plan, at), lr: stepLr(spec, plan, at), globalBatch: B };
      return { header, batch: at.discriminator ? real.batch(at.realBatch) : noiseOnly };
    },
  };
  // The loop's state a checkpoint keeps: the pictures so far, the loss window, the last logged losses.
  const kept = ctx.resume?.loop as { pictures: string[]; win: { d: number; dn: number; g: number; gn: number }; last: { dLoss: number; gLoss: number } } | undefined;
  const pictures: string[] = kept?.pictures ?? [];
  const drawSamples = (name: string, step: number) => {
    const file = join('samples', `${name}.png`);
    savePicture(ctx.outDir, ctx.metrics, 'samples', file, samplePicture(models.generator, spec.seed, spec.gan.gridSamples, PICTURE_ZOOM), step);
    pictures.push(file);
  };
  const win = kept?.win ?? { d: 0, dn: 0, g: 0, gn: 0 };
  let last = kept?.last ?? { dLoss: NaN, gLoss: NaN };
  /** After a generator step: the iteration's metrics and, every gan.sampleEvery iterations, a picture. */
  const endIteration = async (step: number, at: GanPhase, done: Message<'stepDone'>[], rate: number) => {
    const iteration = at.iteration + 1;
    if (iteration % spec.train.logEvery === 0 || iteration === plan.iterations) {
      last = { dLoss: win.d / win.dn, gLoss: win.g / win.gn };
      ctx.metrics.log({ iteration, epoch: epochOfStep(real, plan, at), ...last, samplesPerSecond: rate, commMs: Math.max(...done.map((r) => r.header.commMs)) }, step + 1);
      Object.assign(win, { d: 0, dn: 0, g: 0, gn: 0 });
    }
    if (pictureAfter(step)) {
      await fetchInto(ctx, workers[0], networks);
      drawSamples(`iteration-${String(iteration).padStart(6, '0')}`, step + 1);
    }
  };
  /** Whether a picture is drawn once `step` is done: a generator step ending every gan.sampleEvery-th iteration but the last. */
  const pictureAfter = (step: number) => {
    const at = phaseOf(plan, step);
    const iteration = at.iteration + 1;
    return !at.discriminator && spec.gan.sampleEvery > 0 && iteration % spec.gan.sampleEvery === 0 && iteration < plan.iterations;
  };
  const checkpointed = { workers, shards: [], networks: { ...models }, loop: () => ({ pictures, win, last }) };
  // An epoch is realBatchesPerEpoch discriminator steps, each iteration dSteps of them and one generator step.
  ctx.checkpoints.start(plan.totalSteps, Math.max(1, Math.round(plan.realBatchesPerEpoch / plan.dSteps)) * (plan.dSteps + 1));
  const t0 = performance.now();
  const samples = await runSteps(ctx, workers, source, undefined, async (step, done, rate) => {
    const at = phaseOf(plan, step);
    const sum = done.reduce((s, r) => s + r.header.lossSum, 0);
    if (at.discriminator) [win.d, win.dn] = [win.d + sum, win.dn + B];
    else [win.g, win.gn] = [win.g + sum, win.gn + B];
    if (!at.discriminator) {
      // Progress counts iterations (gan.dSteps discriminator steps and a generator step), with both networks' losses.
      const losses = { D: win.dn ? win.d / win.dn : NaN, G: win.gn ? win.g / win.gn : NaN };
      ctx.progress.update({ step: at.iteration + 1, total: plan.iterations, unit: 'iteration', loss: losses.D, losses, samplesPerSecond: rate });
      await endIteration(step, at, done, rate);
    }
    await checkpointAfter(ctx, step, checkpointed);
    // A picture step is a barrier too, so that rank 0's generator is exactly that iteration's.
  }, ctx.resume?.step, pictureAfter);
  ctx.checkpoints.finish();
  const trainSeconds = (performance.now() - t0) / 1000;
  ctx.progress.done();
  await fetchAgreed(ctx, workers, networks);
  await saveModel(models.generator, join(ctx.outDir, 'generator'));
  await saveModel(models.discriminator, join(ctx.outDir, 'discriminator'));
  drawSamples('final', plan.totalSteps);
  const score: GanScore = { ...last, iterations: plan.iterations, samples: spec.gan.evalSamples, pictures, ...(await evaluate(ctx, spec, models.generator, data, classifier)) };
  ctx.log.info(score, 'gan evaluated');
  return { backend, steps: plan.totalSteps, epochs: (plan.iterations * plan.dSteps) / plan.realBatchesPerEpoch, samples, trainSeconds, train: null, eval: null, sections: { gan: score } };
}

/**
 * The evaluation. Scoring images runs the generator and the classifier on
 * thousands of samples: on the fastest installed backend, not the
 * coordinator's cpu one (a CNN classifier: 0.35 s a thousand images on wasm,
 * 8.6 s on cpu), now that the workers are done. Tensors move across lazily.
 */
async function evaluate(ctx: JobContext, spec: GanJob, generator: LayersModel, data: DataSplits, classifier: LayersModel | undefined): Promise<GanEvaluation> {
  if (classifier) {
    const { name } = await initBackend('auto');
    ctx.progress.note(`scoring ${spec.gan.evalSamples} generated and as many real images with ${spec.gan.classifier} (${name})`);
  }
  return evaluateGan(spec, generator, data, classifier);
}
