/**
 * A plain single-process implementation of Goodfellow et al.'s Algorithm 1
 * for checking GAN jobs: tfjs's own optimizers and mean sigmoid
 * cross-entropy, the real minibatches and noise that the job's seed gives.
 * Images are mapped to [−1, 1] here, from the [0, 1] that loadData gives.
 * (No learning-rate decay or clipping: the jobs it checks use neither.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { gather } from '../../src/data/dataset.js';
import { loadData } from '../../src/data/load.js';
import { ganPlan, latentNoise, realSchedule } from '../../src/jobs/gan/plan.js';
import type { GanJob } from '../../src/jobs/gan/spec.js';
import { buildGan } from '../../src/jobs/gan/zoo.js';
import { flatWeights, standardModel, tfOptimizer } from './reference.js';

/** Algorithm 1 in one process, with tfjs's optimizers and mean losses. */
export async function ganReference(spec: GanJob, opts: { standardLayers?: boolean } = {}): Promise<{ g: Float32Array; d: Float32Array }> {
  const data = loadData(spec.data, spec.seed);
  const built = buildGan(spec.generator, spec.discriminator, spec.gan.latentDim, data.train.featureShape, spec.seed);
  // tfjs-layers' own BatchNormalization in place of dtrain's layer, when asked.
  const G = opts.standardLayers ? await standardModel(built.generator) : built.generator;
  const D = opts.standardLayers ? await standardModel(built.discriminator) : built.discriminator;
  const gOpt = tfOptimizer(spec.gan.generatorOptimizer);
  const dOpt = tfOptimizer(spec.gan.discriminatorOptimizer);
  const plan = ganPlan(data.train.size, spec.train.batchSize, spec.train.epochs, spec.gan.dSteps, spec.train.maxSteps);
  const real = realSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  const B = spec.train.batchSize;
  const dim = spec.gan.latentDim;
  const bce = (logits: tf.Tensor, t: number) => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, t), logits) as tf.Scalar;
  for (let it = 0; it < plan.iterations; it++) {
    for (let p = 0; p < spec.gan.dSteps; p++) {
      const raw = gather(data.train, real.batch(it * spec.gan.dSteps + p)).x;
      const x = tf.tensor(spec.data.source === 'fashion-mnist' ? raw.map((v) => 2 * v - 1) : raw, [B, ...data.train.featureShape]);
      const fake = G.apply(tf.tensor(latentNoise(spec.seed, it, p, 0, B, dim), [B, dim]), { training: true }) as tf.Tensor;
      dOpt.minimize(() => tf.add(bce(D.apply(x, { training: true }) as tf.Tensor, 1 - spec.gan.labelSmoothing), bce(D.apply(fake, { training: true }) as tf.Tensor, 0)), false, D.trainableWeights.map((w) => w.read() as tf.Variable));
    }
    const z = tf.tensor(latentNoise(spec.seed, it, spec.gan.dSteps, 0, B, dim), [B, dim]);
    gOpt.minimize(
      () => {
        const logits = D.apply(G.apply(z, { training: true }), { training: true }) as tf.Tensor;
        return spec.gan.loss === 'nonsaturating' ? bce(logits, 1) : tf.neg(bce(logits, 0));
      },
      false,
      G.trainableWeights.map((w) => w.read() as tf.Variable),
    );
  }
  return { g: flatWeights(G), d: flatWeights(D) };
}

