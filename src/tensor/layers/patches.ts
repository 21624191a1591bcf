/**
 * Cuts images [B, H, W, C] into the tokens [B, (H/p)·(W/p), p·p·C] of
 * p×p patches, row by row, each patch's values in (row, column, channel)
 * order. A dense layer on them is the ViT's patch embedding: the same
 * function as a convolution whose stride is its size, without the
 * convolution's fused gradient, which also computes the gradient of the
 * images (the step's data, which needs none).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Shape } from '@tensorflow/tfjs-layers';

export class Patches extends tfl.layers.Layer {
  static readonly className = 'Patches';
  readonly patch: number;

  constructor(args: { patch: number; name?: string }) {
    super({ name: args.name });
    this.patch = args.patch;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [b, h, w, c] = x.shape;
      const p = this.patch;
      // [B, H/p, p, W/p, p·C] → [B, H/p, W/p, p, p·C]: each patch's rows side by side.
      const rows = tf.reshape(x, [b, h / p, p, w / p, p * c]);
      return tf.reshape(tf.transpose(rows, [0, 1, 3, 2, 4]), [b, (h / p) * (w / p), p * p * c]);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const [b, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const p = this.patch;
    return [b, h === null || w === null ? null : (h / p) * (w / p), c === null ? null : p * p * c];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), patch: this.patch };
  }
}
tf.serialization.registerClass(Patches);
