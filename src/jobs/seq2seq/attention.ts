/**
 * Attention over the encoded source. A decoder state s scores each source
 * position j:
 *   additive (Bahdanau et al.): e_j = vᵀ tanh(W_k h_j + W_q s)
 *   dot (Luong et al.):         e_j = h_jᵀ s   (the decoder's state is as wide as the encoder's outputs)
 * Padding gets −1e9 before the softmax, so its weights are 0; the context
 * is the weighted sum of the encoder outputs.
 */
import * as tf from '@tensorflow/tfjs-core';

export type AttentionKind = 'additive' | 'dot';

/** The additive attention's weights (dot has none). */
export interface AdditiveWeights {
  /** [encoder width, attention units] */
  key: tf.Tensor2D;
  /** [decoder width, attention units] */
  query: tf.Tensor2D;
  /** [attention units, 1] */
  score: tf.Tensor2D;
}

/** What attention reads of an encoded batch, computed once per source. */
export type Memory = {
  /** The encoder outputs h_j, [batch, source steps, width]. */
  values: tf.Tensor3D;
  /** What a query is compared with: W_k h_j (additive) or h_j (dot), [batch, source steps, ·]. */
  keys: tf.Tensor3D;
  /** 0 over the source's tokens, −1e9 over its padding, [batch, source steps]. */
  bias: tf.Tensor2D;
};

/** Logit added to padded positions: far enough below any score that their softmax weight is exactly 0 in float32. */
const MASKED = -1e9;

/** The memory of encoder outputs `values` whose tokens are where `mask` [batch, steps] is 1. */
export function memoryOf(kind: AttentionKind, values: tf.Tensor3D, mask: tf.Tensor2D, w: AdditiveWeights | undefined): Memory {
  const [B, T, H] = values.shape;
  const keys = kind === 'additive' ? (tf.reshape(tf.matMul(tf.reshape(values, [B * T, H]), w!.key), [B, T, -1]) as tf.Tensor3D) : values;
  return { values, keys, bias: tf.mul(tf.sub(1, mask), MASKED) };
}

/** The attention weights [batch, source steps] (each row sums to 1 over the tokens) and the context [batch, width] for queries `s` [batch, decoder width]. */
export function attend(kind: AttentionKind, m: Memory, s: tf.Tensor2D, w: AdditiveWeights | undefined): { weights: tf.Tensor2D; context: tf.Tensor2D } {
  const [B, T] = m.bias.shape;
  let scores: tf.Tensor2D;
  if (kind === 'additive') {
    const q = tf.reshape(tf.matMul(s, w!.query), [B, 1, -1]);
    const hidden = tf.tanh(tf.add(m.keys, q));
    scores = tf.reshape(tf.matMul(tf.reshape(hidden, [B * T, -1]), w!.score), [B, T]);
  } else {
    scores = tf.reshape(tf.matMul(m.keys, tf.reshape(s, [B, -1, 1])), [B, T]);
  }
  const weights = tf.softmax(tf.add(scores, m.bias)) as tf.Tensor2D;
  const context = tf.reshape(tf.matMul(tf.reshape(weights, [B, 1, T]), m.values), [B, -1]) as tf.Tensor2D;
  return { weights, context };
}
