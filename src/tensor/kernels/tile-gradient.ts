/**
 * Tile's gradient as one reshape and one sum. tfjs-core's adds up every
 * tile with its own slice and add: tfjs-layers' layer normalization tiles
 * its statistics and scale over the batch and tokens, so a transformer
 * block's backward pass made thousands of tiny kernels (a ViT step on
 * Fashion-MNIST spent 80% of its time there). Tiling x of shape
 * [x0, x1, …] by reps [r0, r1, …] gives y of shape [r0·x0, r1·x1, …]; y
 * reshaped to [r0, x0, r1, x1, …] holds tile (i, j, …) at indices
 * (i, ·, j, ·, …), so the gradient is dy summed over the even axes. It is
 * registered for every backend, so every process computes the same sums.
 *
 * Loading tfjs-layers (or tfjs-node) registers tfjs-core's gradients again,
 * over any registered before: this module loads tfjs-layers first, and
 * backend.ts registers it again once a backend package is loaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';

function tileGradient(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x] = saved;
  const reps = attrs.reps as number[];
  return {
    x: () => {
      const interleaved = x.shape.flatMap((n, i) => [reps[i], n]);
      const repAxes = x.shape.map((_, i) => 2 * i);
      return tf.sum(tf.reshape(dy as tf.Tensor, interleaved), repAxes);
    },
  };
}

/** Makes Tile's gradient this module's (again, after a package that registers tfjs-core's). */
export function registerTileGradient(): void {
  tf.registerGradient({ kernelName: 'Tile', inputsToSave: ['x'], gradFunc: tileGradient });
}

registerTileGradient();
