/**
 * Multi-head self-attention over a sequence [B, T, d] (tfjs-layers has no
 * such layer): each head projects the tokens to queries, keys and values
 * of d/heads values, weighs the values by softmax(q·kᵀ/√(d/heads)) over the
 * keys (with `causal`, a token sees only itself and the tokens before it),
 * and the heads' outputs, concatenated, are projected back to d (the key
 * projection has no bias: the softmax cancels it). Every
 * sample's tokens attend only to that sample's, so a batch split over
 * workers gives each sample the output one process would. Weights are
 * seeded Glorot-uniform, biases zero.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerVariable, Shape } from '@tensorflow/tfjs-layers';
import { hashInts } from '../../util/rng.js';

export interface SelfAttentionArgs {
  heads: number;
  causal: boolean;
  /** Seeds the four projections' initializers. */
  seed: number;
  name?: string;
}

/** What a masked score becomes before the softmax: its weight underflows to exactly 0. */
const MASKED = -1e9;

export class MultiHeadSelfAttention extends tfl.layers.Layer {
  static readonly className = 'MultiHeadSelfAttention';
  readonly heads: number;
  readonly causal: boolean;
  readonly seed: number;
  private projections: { kernel: LayerVariable; bias: LayerVariable | undefined }[] = [];

  constructor(args: SelfAttentionArgs) {
    super({ name: args.name });
    this.heads = args.heads;
    this.causal = args.causal;
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const d = shape[shape.length - 1];
    if (shape.length !== 3 || d === null) throw new Error(`${this.name}: self-attention reads [batch, steps, features], got [${shape}]`);
    if (d % this.heads !== 0) throw new Error(`${this.name}: ${d} features do not split into ${this.heads} heads`);
    // The key has no bias: q·b_k is the same for every key of a query, so the
    // softmax cancels it and its gradient is only rounding noise, which Adam
    // would blow up into full-size steps (and N workers' noise differs from one process's).
    this.projections = ['query', 'key', 'value', 'output'].map((what, i) => ({
      kernel: this.addWeight(`${what}_kernel`, [d, d], 'float32', tfl.initializers.glorotUniform({ seed: hashInts(this.seed, i) % 2147483647 })),
      bias: what === 'key' ? undefined : this.addWeight(`${what}_bias`, [d], 'float32', tfl.initializers.zeros()),
    }));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [b, t, d] = x.shape;
      const dh = d / this.heads;
      const rows = tf.reshape(x, [b * t, d]);
      const project = (i: number, v: tf.Tensor) => {
        const { kernel, bias } = this.projections[i];
        const product = tf.matMul(v as tf.Tensor2D, kernel.read() as tf.Tensor2D);
        return bias ? tf.add(product, bias.read()) : product;
      };
      // [B·T, d] → [B, heads, T, d/heads]
      const split = (v: tf.Tensor) => tf.transpose(tf.reshape(v, [b, t, this.heads, dh]), [0, 2, 1, 3]);
      const q = split(project(0, rows));
      const k = split(project(1, rows));
      const v = split(project(2, rows));
      let scores = tf.mul(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), 1 / Math.sqrt(dh));
      if (this.causal) scores = tf.add(scores, causalMask(t));
      const weights = tf.softmax(scores);
      const heads = tf.matMul(weights as tf.Tensor4D, v as tf.Tensor4D);
      const merged = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [b * t, d]);
      return tf.reshape(project(3, merged), [b, t, d]);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, causal: this.causal, seed: this.seed };
  }
}
tf.serialization.registerClass(MultiHeadSelfAttention);

/** [T, T]: 0 where a query may see the key (key ≤ query), MASKED above the diagonal. */
function causalMask(t: number): tf.Tensor2D {
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = MASKED;
  return tf.tensor2d(m, [t, t]);
}
