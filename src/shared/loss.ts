/** Losses as SUMS over the batch: the all-reduce adds them and divides by the global batch once. */
import * as tf from '@tensorflow/tfjs-core';

/** Σ over samples of the softmax cross-entropy between logits [n, C] and integer labels. */
export function sumSoftmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(labels, classes), tf.logSoftmax(logits)))) as tf.Scalar);
}

/** Per-batch loss sum and number of correct predictions, for metrics. */
export function lossAndCorrect(logits: tf.Tensor, labels: tf.Tensor1D, classes: number): { lossSum: number; correct: number } {
  return tf.tidy(() => {
    const lossSum = sumSoftmaxCrossEntropy(logits, labels, classes).dataSync()[0];
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0];
    return { lossSum, correct };
  });
}
