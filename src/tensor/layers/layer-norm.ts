/**
 * Layer normalization over the last axis: (x − mean) / √(var + ε) · γ + β,
 * each token normalised by its own features' statistics. tfjs-layers' own
 * tiles its statistics and γ, β out to the input's shape before a fused
 * batch-norm kernel; on the wasm backend those Tile kernels alone cost a
 * ViT step a quarter of its time. This one broadcasts, and its gradient is
 * tfjs-core's for the plain ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerVariable, Shape } from '@tensorflow/tfjs-layers';

export class LayerNorm extends tfl.layers.Layer {
  static readonly className = 'LayerNorm';
  readonly epsilon: number;
  private gamma: LayerVariable | undefined;
  private beta: LayerVariable | undefined;

  constructor(args: { epsilon?: number; name?: string } = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const d = shape[shape.length - 1];
    if (d === null) throw new Error(`${this.name}: the last axis needs a fixed size, got [${shape}]`);
    this.gamma = this.addWeight('gamma', [d], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [d], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (!this.gamma || !this.beta) throw new Error(`${this.name}: called before it was built`);
      const centered = tf.sub(x, tf.mean(x, -1, true));
      const variance = tf.mean(tf.square(centered), -1, true);
      const normalised = tf.mul(centered, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normalised, this.gamma.read()), this.beta.read());
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(LayerNorm);
