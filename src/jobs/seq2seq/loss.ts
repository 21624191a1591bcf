/**
 * The training loss: per-token softmax cross-entropy, a sample's loss the
 * sum over its target tokens (its symbols and the end token), padding
 * weighted 0. The step program takes the gradient of the sum over its
 * shard; the update divides by the global batch.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Σ over the batch of each sample's −Σ_t log p(target_t): logits [B, T, classes], target [B, T] classes, weight [B, T] 1 on tokens, 0 on padding. */
export function maskedCrossEntropySum(logits: tf.Tensor3D, target: tf.Tensor2D, weight: tf.Tensor2D): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(target, logits.shape[2])), 2);
  return tf.neg(tf.sum(tf.mul(picked, weight))) as tf.Scalar;
}
