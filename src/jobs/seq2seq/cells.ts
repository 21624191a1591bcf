/**
 * The recurrent cells of the encoder and the decoder, one step at a time in
 * tfjs ops (so that the gradient runs through them and every backend has
 * their kernels). A step takes the input's projection with the bias already
 * added: the encoder projects every position at once, the decoder adds its
 * context's projection to its token's.
 *   GRU (reset gate after the recurrent product, as cuDNN's):
 *     z = σ(x_z + h·U_z), r = σ(x_r + h·U_r), n = tanh(x_n + r ⊙ h·U_n), h' = (1 − z) ⊙ n + z ⊙ h
 *   LSTM: i, f, g, o = x + h·U; c' = σ(f + 1) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c')
 * The LSTM's forget gate adds a constant 1 (Jozefowicz et al.'s forget bias
 * of 1, with the bias weights starting at zero like every other).
 */
import * as tf from '@tensorflow/tfjs-core';

export type CellKind = 'gru' | 'lstm';

/** A cell's state: [h] for a GRU, [h, c] for an LSTM; h is its output. Each [batch, units]. */
export type CellState = tf.Tensor2D[];

/** How many gate blocks a cell's kernels have side by side. */
export function gatesOf(kind: CellKind): number {
  return kind === 'gru' ? 3 : 4;
}

/** A state of zeros, [batch, units] each. */
export function zeroState(kind: CellKind, batch: number, units: number): CellState {
  return Array.from({ length: kind === 'gru' ? 1 : 2 }, () => tf.zeros([batch, units]) as tf.Tensor2D);
}

/** One step from `state`, given the input's projection plus bias `x` [batch, gates·units] and the recurrent kernel [units, gates·units]. */
export function cellStep(kind: CellKind, x: tf.Tensor2D, state: CellState, recurrent: tf.Tensor2D): CellState {
  const hU = tf.matMul(state[0], recurrent);
  if (kind === 'gru') {
    const [xz, xr, xn] = tf.split(x, 3, 1);
    const [hz, hr, hn] = tf.split(hU, 3, 1);
    const z = tf.sigmoid(tf.add(xz, hz));
    const r = tf.sigmoid(tf.add(xr, hr));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    return [tf.add(n, tf.mul(z, tf.sub(state[0], n))) as tf.Tensor2D];
  }
  const [i, f, g, o] = tf.split(tf.add(x, hU), 4, 1);
  const c = tf.add(tf.mul(tf.sigmoid(tf.add(f, 1)), state[1]), tf.mul(tf.sigmoid(i), tf.tanh(g)));
  return [tf.mul(tf.sigmoid(o), tf.tanh(c)) as tf.Tensor2D, c as tf.Tensor2D];
}

/** `next` where `mask` [batch, 1] is 1, `prev` where it is 0: a padded position leaves the state as it was. */
export function keepWhere(mask: tf.Tensor2D, next: CellState, prev: CellState): CellState {
  return next.map((n, k) => tf.add(prev[k], tf.mul(mask, tf.sub(n, prev[k]))) as tf.Tensor2D);
}
