/**
 * The independent computation the N-worker runs are checked against: a plain
 * single-process tfjs loop over the same global batches, with tfjs's own
 * optimizers and tfjs's mean softmax cross-entropy (not dtrain's flat
 * optimizers or summed loss).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { trainingAttack, type AdversarialJob } from '../../src/jobs/adversarial/spec.js';
import { gather } from '../../src/data/dataset.js';
import { loadData } from '../../src/data/load.js';
import { asSupervised } from '../../src/jobs/supervised/spec.js';
import { type JobSpec, type OptimizerSpec } from '../../src/spec/job-spec.js';
import { buildJobModel } from '../../src/jobs/supervised/model.js';
import { setDropoutContext } from '../../src/tensor/layers/seeded-dropout.js';
import { standardizeTopology } from '../../src/tensor/models/standard-topology.js';
import { lrAt } from '../../src/tensor/schedule.js';
import { referenceAttack } from './attack-reference.js';
import { BatchSchedule, planSteps } from '../../src/data/sharding.js';

export function tfOptimizer(o: OptimizerSpec): tf.Optimizer & { learningRate: number } {
  switch (o.name) {
    case 'sgd':
      return tf.train.sgd(o.lr) as never;
    case 'momentum':
      return tf.train.momentum(o.lr, o.momentum, o.nesterov) as never;
    case 'adagrad':
      return tf.train.adagrad(o.lr, o.initialAccumulator) as never;
    case 'rmsprop':
      return tf.train.rmsprop(o.lr, o.decay, o.momentum, o.epsilon) as never;
    case 'adam':
      return tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon) as never;
  }
}

/**
 * tfjs's own layers in place of dtrain's: SyncBatchNormalization becomes
 * tfjs-layers' BatchNormalization (and SeededDropout becomes Dropout, so
 * only for models without dropout), with the same weights.
 */
export async function standardModel(model: LayersModel): Promise<LayersModel> {
  const topology = standardizeTopology(model.toJSON(null, false)) as tf.io.ModelJSON['modelTopology'];
  const std = await tfl.models.modelFromJSON({ modelTopology: topology } as never);
  std.setWeights(model.getWeights());
  return std;
}

/**
 * Trains `spec` in this process and returns the model. `noDropout` turns the
 * masks off (to show they matter); `standardLayers` trains tfjs's own
 * BatchNormalization instead of dtrain's layer.
 */
export async function referenceTrain(job: JobSpec, opts: { noDropout?: boolean; noClip?: boolean; standardLayers?: boolean } = {}): Promise<LayersModel> {
  const spec = asSupervised(job);
  const data = loadData(spec.data, spec.seed);
  const built = await buildJobModel(spec, data);
  const model = opts.standardLayers ? await standardModel(built) : built;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tfOptimizer(spec.train.optimizer);
  const plan = planSteps(data.train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  for (let step = 0; step < plan.totalSteps; step++) {
    const idx = schedule.batch(step);
    const b = gather(data.train, idx);
    setDropoutContext(model, { seed: spec.seed, step, sampleIndices: idx });
    const lr = lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps);
    const x = tf.tensor(b.x, [idx.length, ...data.train.featureShape]);
    // Adversarial jobs: the clean and the attacked batch, each its own pass and mean loss, weighted.
    const adv = spec.type === 'adversarial' ? (spec as AdversarialJob).adversarial : undefined;
    const passes: [tf.Tensor, number][] =
      adv
        ? [
            [x, adv.cleanWeight],
            [referenceAttack(model, x, b.y as Int32Array, data.train.classes, trainingAttack(adv, spec.data.source), { seed: spec.seed, step, offset: 0 }), adv.advWeight],
          ]
        : [[x, 1]];
    const { value, grads } = tf.variableGrads(() => {
      const labels = tf.oneHot(tf.tensor1d(b.y, 'int32'), data.train.classes);
      const terms = passes
        .filter(([, w]) => w > 0)
        .map(([input, w]) => tf.mul(tf.losses.softmaxCrossEntropy(labels, model.apply(input, { training: !opts.noDropout }) as tf.Tensor), w));
      return tf.addN(terms) as tf.Scalar;
    }, vars);
    tf.dispose(passes.map(([t]) => t));
    let g = grads;
    if (spec.train.clipNorm !== undefined && !opts.noClip) {
      const clip = spec.train.clipNorm;
      g = tf.tidy(() => {
        const norm = tf.sqrt(tf.addN(Object.values(grads).map((t) => tf.sum(tf.square(t)))));
        const scale = tf.div(clip, tf.maximum(norm, clip));
        return Object.fromEntries(Object.entries(grads).map(([k, t]) => [k, tf.mul(t, scale)]));
      });
    }
    // SGD and momentum cache the rate in a scalar: set it through their setter.
    const setter = (opt as unknown as { setLearningRate?: (v: number) => void }).setLearningRate;
    if (setter) setter.call(opt, lr);
    else opt.learningRate = lr;
    opt.applyGradients(g);
    tf.dispose([value, ...Object.values(grads), ...Object.values(g)]);
  }
  setDropoutContext(model, undefined);
  return model;
}

/** All trainable weights of a model, concatenated. */
export function flatWeights(model: LayersModel): Float32Array {
  const parts = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** max|a−b| / max|b| */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
