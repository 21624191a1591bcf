/**
 * The step sequence of a GAN job (Goodfellow et al., Algorithm 1): each
 * iteration is k discriminator steps, each on a fresh minibatch of real data
 * and one of noise, then one generator step on a minibatch of noise. The
 * coordinator numbers all of them as steps; real minibatches are whole (the
 * epoch's short last one is dropped), and the noise for each sample comes
 * from (seed, iteration, phase, position in the global batch).
 */
import type { GanJob } from './spec.js';
import { hashInts, Rng, Stream } from '../../util/rng.js';
import { lrAt } from '../../tensor/schedule.js';
import { BatchSchedule } from '../../data/sharding.js';

export interface GanPlan {
  dSteps: number;
  iterations: number;
  totalSteps: number;
  realBatchesPerEpoch: number;
}

export function ganPlan(trainSize: number, batchSize: number, epochs: number, dSteps: number, maxIterations?: number): GanPlan {
  const realBatchesPerEpoch = Math.floor(trainSize / batchSize);
  const all = Math.floor((realBatchesPerEpoch * epochs) / dSteps);
  const iterations = maxIterations === undefined ? all : Math.min(all, maxIterations);
  return { dSteps, iterations, totalSteps: iterations * (dSteps + 1), realBatchesPerEpoch };
}

export interface GanPhase {
  iteration: number;
  /** 0 … k−1: discriminator steps; k: the generator step. */
  phase: number;
  discriminator: boolean;
  /** For discriminator steps: the index of its real minibatch. */
  realBatch: number;
}

export function phaseOf(plan: GanPlan, step: number): GanPhase {
  const iteration = Math.floor(step / (plan.dSteps + 1));
  const phase = step % (plan.dSteps + 1);
  return { iteration, phase, discriminator: phase < plan.dSteps, realBatch: iteration * plan.dSteps + phase };
}

/** The learning rate of a step's network: its optimizer's, decayed per iteration. */
export function stepLr(spec: GanJob, plan: GanPlan, at: GanPhase): number {
  const optimizer = at.discriminator ? spec.gan.discriminatorOptimizer : spec.gan.generatorOptimizer;
  return lrAt(optimizer.lr, spec.train.lrDecay, at.iteration, plan.iterations);
}

/** The epoch of the real data a step belongs to (a generator step: that of its iteration's last discriminator step). */
export function epochOfStep(real: BatchSchedule, plan: GanPlan, at: GanPhase): number {
  return real.epochOf(at.iteration * plan.dSteps + Math.min(at.phase, plan.dSteps - 1));
}

/** The real minibatches, epoch by epoch, all of the full batch size. */
export function realSchedule(seed: number, trainSize: number, batchSize: number, plan: GanPlan): BatchSchedule {
  return new BatchSchedule(seed, trainSize, batchSize, { stepsPerEpoch: plan.realBatchesPerEpoch, totalSteps: plan.iterations * plan.dSteps });
}

/** z ~ N(0, I) for `count` samples from position `offset` of a step's global batch, row-major [count, dim]. */
export function latentNoise(seed: number, iteration: number, phase: number, offset: number, count: number, dim: number): Float32Array {
  const out = new Float32Array(count * dim);
  for (let j = 0; j < count; j++) {
    const rng = new Rng(hashInts(seed, Stream.noise, iteration, phase, offset + j));
    for (let i = 0; i < dim; i++) out[j * dim + i] = rng.normal();
  }
  return out;
}
