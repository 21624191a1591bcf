/**
 * The coordinator's side of a GAN job. The message sequence is a supervised
 * job's (start, steps, fetchParams, stop) with these differences:
 *   - the flat parameters are [generator | discriminator];
 *   - the steps are Algorithm 1's: per iteration k discriminator steps, each
 *     with a fresh whole minibatch of real data, then a generator step (its
 *     command carries a batch of placeholder indices: only the count and
 *     the shard's offset matter, for the noise);
 *   - there is no `eval`: the coordinator draws samples from the trained
 *     generator itself and scores them (2-D mixtures: modes covered, and
 *     the fraction of high-quality samples);
 *   - the networks are saved to DIR/generator and DIR/discriminator.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../shared/backend.js';
import { DEFAULT_MIXTURE_NOISE, modeCoverage, type ModeCoverage } from '../shared/data/mixtures.js';
import { loadData } from '../shared/data/load.js';
import { layoutOf, readParams, stateLength, writeParams, writeState } from '../shared/flat.js';
import { epochOfStep, ganPlan, latentNoise, phaseOf, realSchedule, stepLr } from '../shared/gan-plan.js';
import type { GanJob } from '../shared/job-spec.js';
import { buildGan, type GanModels } from '../shared/models/gan-zoo.js';
import { saveModel } from '../shared/models/save.js';
import type { JobContext, JobResult } from './job-loop.js';
import { startWorkers } from './job-loop.js';
import type { WorkerInfo } from './membership.js';
import { runSteps, type StepSource } from './step-loop.js';

export interface GanScore extends Partial<ModeCoverage> {
  /** Mean discriminator and generator losses per sample over the last logged window. */
  dLoss: number;
  gLoss: number;
  iterations: number;
  samples: number;
}

/** The phase key of the noise drawn for the evaluation, apart from every training step's. */
const EVAL_PHASE = 0xe7a1;

export async function runGanJob(ctx: JobContext): Promise<JobResult> {
  const spec = ctx.spec as GanJob;
  await initBackend('cpu');
  const data = loadData(spec.data, spec.seed);
  const models = buildGan(spec.generator, spec.discriminator, spec.gan.latentDim, data.train.featureShape, spec.seed);
  const { workers } = await ctx.control.guard(ctx.membership.waitForAll());
  ctx.membership.startHeartbeats();
  const g = readParams(models.generator, layoutOf(models.generator));
  const d = readParams(models.discriminator, layoutOf(models.discriminator));
  const initial = new Float32Array(g.length + d.length);
  initial.set(g);
  initial.set(d, g.length);
  const backend = await startWorkers(ctx, workers, initial, undefined);
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
  const win = { d: 0, dn: 0, g: 0, gn: 0 };
  let last = { dLoss: NaN, gLoss: NaN };
  const t0 = performance.now();
  const samples = await runSteps(ctx, workers, source, undefined, (step, done, rate) => {
    const at = phaseOf(plan, step);
    const sum = done.reduce((s, r) => s + r.header.lossSum, 0);
    if (at.discriminator) [win.d, win.dn] = [win.d + sum, win.dn + B];
    else [win.g, win.gn] = [win.g + sum, win.gn + B];
    const iteration = at.iteration + 1;
    const endOfIteration = !at.discriminator;
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: win.dn ? win.d / win.dn : NaN, samplesPerSecond: rate });
    if (endOfIteration && (iteration % spec.train.logEvery === 0 || iteration === plan.iterations)) {
      last = { dLoss: win.d / win.dn, gLoss: win.g / win.gn };
      ctx.metrics.log({ iteration, epoch: epochOfStep(real, plan, at), ...last, samplesPerSecond: rate, commMs: Math.max(...done.map((r) => r.header.commMs)) }, step + 1);
      Object.assign(win, { d: 0, dn: 0, g: 0, gn: 0 });
    }
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  ctx.progress.done();
  await fetchAndSave(ctx, workers[0], models);
  const score: GanScore = { ...last, iterations: plan.iterations, samples: spec.gan.evalSamples, ...scoreSamples(spec, models, plan.iterations) };
  ctx.log.info(score, 'gan evaluated');
  return { backend, steps: plan.totalSteps, epochs: (plan.iterations * plan.dSteps) / plan.realBatchesPerEpoch, samples, trainSeconds, train: null, eval: null, gan: score };
}

async function fetchAndSave(ctx: JobContext, rank0: WorkerInfo, models: GanModels): Promise<void> {
  await ctx.control.send(rank0.peer, { type: 'fetchParams' });
  const p = await ctx.control.expect(rank0.peer, 'params');
  const params = p.tensors[0] as Float32Array;
  const state = p.tensors[1] as Float32Array;
  const gl = layoutOf(models.generator);
  const gs = stateLength(models.generator);
  writeParams(models.generator, gl, params.subarray(0, gl.total));
  writeParams(models.discriminator, layoutOf(models.discriminator), params.subarray(gl.total));
  writeState(models.generator, state.subarray(0, gs));
  writeState(models.discriminator, state.subarray(gs));
  await saveModel(models.generator, join(ctx.outDir, 'generator'));
  await saveModel(models.discriminator, join(ctx.outDir, 'discriminator'));
}

/** Samples the trained generator (inference mode) and scores them against the data's modes. */
function scoreSamples(spec: GanJob, models: GanModels, iterations: number): Partial<ModeCoverage> {
  if (spec.data.source !== 'synthetic' || (spec.data.kind !== 'ring8' && spec.data.kind !== 'grid25')) return {};
  const n = spec.gan.evalSamples;
  const dim = spec.gan.latentDim;
  const points = tf.tidy(() => (models.generator.predict(tf.tensor(latentNoise(spec.seed, iterations, EVAL_PHASE, 0, n, dim), [n, dim])) as tf.Tensor).dataSync() as Float32Array);
  return modeCoverage(spec.data.kind, spec.data.noise ?? DEFAULT_MIXTURE_NOISE[spec.data.kind], points);
}
