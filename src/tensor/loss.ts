/** Losses as SUMS over the batch: the all-reduce adds them and divides by the global batch once. */
import * as tf from '@tensorflow/tfjs-core';

/** Σ over samples of the softmax cross-entropy between logits [n, C] and integer labels. */
export function sumSoftmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(labels, classes), tf.logSoftmax(logits)))) as tf.Scalar);
}

/** Number of samples whose largest logit is the label. */
export function countCorrect(logits: tf.Tensor, labels: tf.Tensor1D): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0]);
}

/** Per-batch loss sum and number of correct predictions, for evaluation. */
export function lossAndCorrect(logits: tf.Tensor, labels: tf.Tensor1D, classes: number): { lossSum: number; correct: number } {
  return tf.tidy(() => ({ lossSum: sumSoftmaxCrossEntropy(logits, labels, classes).dataSync()[0], correct: countCorrect(logits, labels) }));
}
