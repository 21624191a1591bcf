/**
 * What a supervised job minimises and counts (train.loss), as SUMS over the
 * batch: the all-reduce adds them and divides by the global batch once.
 *
 * - softmax-cross-entropy: one logit per class, labels class numbers;
 * - sigmoid-cross-entropy: one logit per class, each a yes/no against the
 *   one-hot label (one-vs-rest); accuracy by the largest logit;
 * - mse: regression, labels `values` real targets a sample; the per-sample
 *   loss is the mean of the squared errors over the targets (Keras's mse);
 * - module: the model module's `loss` export, `({tf, outputs, labels}) =>`
 *   a tensor of one loss per sample, labels being class numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Labels } from '../data/dataset.js';
import { countCorrect, sumSoftmaxCrossEntropy } from './loss.js';

export type LossName = 'softmax-cross-entropy' | 'sigmoid-cross-entropy' | 'mse' | 'module';

/** A user's loss: one value per sample, from the model's outputs [n, classes] and the labels [n] (int32 class numbers). */
export type UserLoss = (args: { tf: unknown; outputs: tf.Tensor; labels: tf.Tensor }) => tf.Tensor;

/** A user's metric: one value per sample; dtrain reports its mean over the samples. */
export type UserMetric = UserLoss;

/** Count keys of user metrics: `metric.<name>`, summed over samples. */
export const METRIC_PREFIX = 'metric.';

export interface Objective {
  readonly labels: Labels;
  /** The labels of n samples as the loss takes them: int32 [n], or float32 [n, classes] for values. */
  labelTensor(y: Int32Array | Float32Array, n: number): tf.Tensor;
  /** Σ over the samples of the loss. */
  lossSum(outputs: tf.Tensor, labels: tf.Tensor): tf.Scalar;
  /** The step's and the evaluation's per-batch sums: correct (classes) or absError (values: Σ over samples of the mean absolute error). */
  counts(outputs: tf.Tensor, labels: tf.Tensor): Record<string, number>;
}

/**
 * The objective with the model module's `metrics` counted too: each
 * `{name: ({tf, outputs, labels}) => one value a sample}` is summed under
 * `metric.<name>`, and reported as its mean.
 */
export function withMetrics(o: Objective, metrics: Record<string, UserMetric>, tfNamespace: unknown): Objective {
  const entries = Object.entries(metrics);
  if (entries.length === 0) return o;
  return {
    ...o,
    counts: (outputs, labels) => {
      const counts = o.counts(outputs, labels);
      for (const [name, fn] of entries) {
        counts[METRIC_PREFIX + name] = tf.tidy(() => {
          const per = fn({ tf: tfNamespace, outputs, labels });
          if (!(per instanceof tf.Tensor) || per.rank !== 1 || per.shape[0] !== outputs.shape[0]) {
            throw new Error(`the model module's metric ${name} must return a tensor of one value per sample (shape [${outputs.shape[0]}]), got ${per instanceof tf.Tensor ? `shape [${per.shape}]` : typeof per}`);
          }
          return tf.sum(per).dataSync()[0];
        });
      }
      return counts;
    },
  };
}

/** The labels a loss trains on. */
export const labelsOf = (loss: LossName): Labels => (loss === 'mse' ? 'values' : 'classes');

export function objectiveOf(loss: LossName, classes: number, user?: { fn: UserLoss; tf: unknown }): Objective {
  const correct = (outputs: tf.Tensor, labels: tf.Tensor) => ({ correct: countCorrect(outputs, labels as tf.Tensor1D) });
  const classLabels = (y: Int32Array | Float32Array) => tf.tensor1d(y, 'int32');
  switch (loss) {
    case 'softmax-cross-entropy':
      return { labels: 'classes', labelTensor: classLabels, lossSum: (o, l) => sumSoftmaxCrossEntropy(o, l as tf.Tensor1D, classes), counts: correct };
    case 'sigmoid-cross-entropy':
      return {
        labels: 'classes',
        labelTensor: classLabels,
        // max(z, 0) − z·t + log(1 + e^−|z|): the stable form, summed over samples and classes.
        lossSum: (o, l) =>
          tf.tidy(() => {
            const t = tf.cast(tf.oneHot(l as tf.Tensor1D, classes), 'float32');
            return tf.sum(tf.add(tf.sub(tf.relu(o), tf.mul(o, t)), tf.log1p(tf.exp(tf.neg(tf.abs(o)))))) as tf.Scalar;
          }),
        counts: correct,
      };
    case 'mse':
      return {
        labels: 'values',
        labelTensor: (y, n) => tf.tensor2d(y, [n, classes], 'float32'),
        lossSum: (o, l) => tf.tidy(() => tf.div(tf.sum(tf.squaredDifference(o, l)), classes) as tf.Scalar),
        counts: (o, l) => tf.tidy(() => ({ absError: tf.div(tf.sum(tf.abs(tf.sub(o, l))), classes).dataSync()[0] })),
      };
    case 'module': {
      if (!user) throw new Error('train.loss module needs the model module\'s loss export');
      return {
        labels: 'classes',
        labelTensor: classLabels,
        lossSum: (o, l) => {
          const per = user.fn({ tf: user.tf, outputs: o, labels: l });
          if (!(per instanceof tf.Tensor) || per.rank !== 1 || per.shape[0] !== o.shape[0]) {
            throw new Error(`the model module's loss must return a tensor of one loss per sample (shape [${o.shape[0]}]), got ${per instanceof tf.Tensor ? `shape [${per.shape}]` : typeof per}`);
          }
          return tf.sum(per) as tf.Scalar;
        },
        counts: correct,
      };
    }
  }
}
