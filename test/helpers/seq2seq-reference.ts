/**
 * A plain single-process training loop for checking seq2seq jobs: the same
 * network and pairs, tfjs's own optimizer on tfjs's weighted softmax
 * cross-entropy (summed over the target tokens, divided by the batch: the
 * mean over samples of each sample's summed loss), clipped by global norm.
 * (A constant learning rate: the jobs it checks have no decay.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchSchedule, planSteps } from '../../src/data/sharding.js';
import { encodeBatch } from '../../src/jobs/seq2seq/batch.js';
import { pairsAt } from '../../src/jobs/seq2seq/data.js';
import { buildSeq2seq, seq2seqLayerOf } from '../../src/jobs/seq2seq/model.js';
import type { Seq2seqJob } from '../../src/jobs/seq2seq/spec.js';
import { flatWeights, tfOptimizer } from './reference.js';

/** The trained weights; `noClip` leaves the gradient unclipped (to show that clipping matters). */
export function seq2seqReference(spec: Seq2seqJob, opts: { noClip?: boolean } = {}): Float32Array {
  const model = buildSeq2seq(spec);
  const tokens = seq2seqLayerOf(model).tokens;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tfOptimizer(spec.train.optimizer);
  const plan = planSteps(spec.data.train, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, spec.data.train, spec.train.batchSize, plan);
  for (let step = 0; step < plan.totalSteps; step++) {
    const b = encodeBatch(pairsAt(spec.data, spec.seed, 'train', schedule.batch(step)), spec.data.maxLength, tokens);
    const T = b.target.length / b.size;
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const logits = tf.reshape(model.apply(tf.tensor2d(b.input, [b.size, b.input.length / b.size]), { training: true }) as tf.Tensor, [b.size * T, tokens.classes]);
        const labels = tf.oneHot(tf.tensor1d(b.target, 'int32'), tokens.classes);
        const sum = tf.losses.softmaxCrossEntropy(labels, logits, tf.tensor1d(b.weight), 0, tf.Reduction.SUM);
        return tf.div(sum, b.size) as tf.Scalar;
      }, vars);
      const clip = spec.train.clipNorm;
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0];
      const scale = clip === undefined || opts.noClip ? 1 : clip / Math.max(norm, clip);
      opt.applyGradients(Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)])));
    });
  }
  const weights = flatWeights(model);
  model.dispose();
  return weights;
}
