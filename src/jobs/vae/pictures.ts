/**
 * The pictures of a VAE job on image data: decoded samples of the prior
 * (samples.png) and test images beside their reconstructions
 * (reconstructions.png). Pixels are the decoder's Bernoulli means,
 * sigmoid(logits), in [0, 1]; both are drawn in inference mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Raster } from '../../image/png.js';
import { imageGrid } from '../../image/plots.js';
import { posterior } from './loss.js';
import { Draw, latentNoise } from './noise.js';

/** Whether samples of this shape have a picture: images [h, w, 1 or 3]. */
export function pictured(shape: number[]): boolean {
  return shape.length === 3 && (shape[2] === 1 || shape[2] === 3);
}

/** The values of a tensor made by `make` (in a tidy), which is then freed. (A tidy that returned the typed array would walk it element by element.) */
function valuesOf(make: () => tf.Tensor): Float32Array {
  const t = tf.tidy(make);
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

/** sigmoid(decoder(z)) for the rows of z ([n, latent]), row-major. */
function decode(decoder: LayersModel, z: tf.Tensor2D): tf.Tensor {
  return tf.sigmoid(decoder.predict(z) as tf.Tensor);
}

/** A grid of `count` decoded samples of z ~ N(0, I), drawn from the job seed (the same picture for the same networks). */
export function samplesPicture(decoder: LayersModel, seed: number, count: number, shape: number[], zoom = 1): Raster {
  const latent = decoder.inputs[0].shape[1] as number;
  const pixels = valuesOf(() => decode(decoder, tf.tensor2d(latentNoise(seed, Draw.picture, 0, 0, count, latent), [count, latent])));
  return imageGrid(pixels, count, shape, [0, 1], zoom);
}

/**
 * `count` images ([count, h, w, c], row-major, in [0, 1]) each beside its
 * reconstruction sigmoid(decoder(μ(x))), a pair a tile: the original on
 * the left, the reconstruction on the right (the grid's gaps part the pairs).
 */
export function reconstructionsPicture(encoder: LayersModel, decoder: LayersModel, images: Float32Array, count: number, shape: number[], zoom = 1): Raster {
  const [h, w, c] = shape;
  const rebuilt = valuesOf(() => decode(decoder, posterior(encoder.predict(tf.tensor(images.subarray(0, count * h * w * c), [count, h, w, c])) as tf.Tensor).mu));
  const pairW = 2 * w;
  const pairs = new Float32Array(count * h * pairW * c);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < h; y++) {
      const from = ((i * h + y) * w) * c;
      const to = ((i * h + y) * pairW) * c;
      pairs.set(images.subarray(from, from + w * c), to);
      pairs.set(rebuilt.subarray(from, from + w * c), to + w * c);
    }
  }
  return imageGrid(pairs, count, [h, pairW, c], [0, 1], zoom);
}
