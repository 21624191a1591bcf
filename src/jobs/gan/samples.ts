/** Drawing samples from a generator (inference mode) and picturing them. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { latentNoise } from './plan.js';
import { encodePng, type Raster } from '../../image/png.js';
import { imageGrid, scatterPlot } from '../../image/plots.js';

/** Phase keys of the noise for pictures and for the evaluation, apart from every training step's (0 … k). */
export const PICTURE_PHASE = 0x9a1d;
export const EVAL_PHASE = 0xe7a1;

const PREDICT_BATCH = 256;

export function latentDimOf(generator: LayersModel): number {
  const shape = generator.inputs[0].shape;
  if (shape.length !== 2 || shape[1] === null) throw new Error(`a generator takes latent vectors [batch, dim], this one takes [${shape}]`);
  return shape[1];
}

export function sampleShapeOf(generator: LayersModel): number[] {
  return generator.outputs[0].shape.slice(1).map((d) => d ?? 1);
}

/** n samples G(z) for z from (seed, key), row-major, in inference mode, predicted PREDICT_BATCH at a time. */
export function generate(generator: LayersModel, seed: number, key: number, n: number): Float32Array {
  const dim = latentDimOf(generator);
  const size = sampleShapeOf(generator).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * size);
  for (let a = 0; a < n; a += PREDICT_BATCH) {
    const m = Math.min(PREDICT_BATCH, n - a);
    const part = tf.tidy(() => (generator.predict(tf.tensor(latentNoise(seed, 0, key, a, m, dim), [m, dim])) as tf.Tensor).dataSync());
    out.set(part, a * size);
  }
  return out;
}

/** The range of a generator's output: [−1, 1] when its last activation is tanh, else that of the samples. */
export function outputRange(generator: LayersModel, samples: Float32Array): [number, number] {
  for (let i = generator.layers.length - 1; i >= 0; i--) {
    const act = generator.layers[i].getConfig().activation;
    if (act === undefined) continue;
    if (act === 'tanh') return [-1, 1];
    break;
  }
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of samples) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return lo < hi ? [lo, hi] : [lo - 1, lo + 1];
}

/** A grid of images ([h, w, 1 or 3]) or a scatter plot of points ([2]). */
export function picture(samples: Float32Array, n: number, shape: number[], range: [number, number], zoom = 1): Raster {
  if (shape.length === 1 && shape[0] === 2) return scatterPlot(samples.subarray(0, 2 * n));
  if (shape.length === 3 && (shape[2] === 1 || shape[2] === 3)) return imageGrid(samples, n, shape, range, zoom);
  throw new RangeError(`samples of shape [${shape}] have no picture: images [h, w, 1 or 3] are drawn as a grid, 2-D points as a scatter plot`);
}

/** The picture of n samples of the generator (drawn with the picture key). */
export function samplePicture(generator: LayersModel, seed: number, n: number, zoom = 1): Raster {
  const samples = generate(generator, seed, PICTURE_PHASE, n);
  return picture(samples, n, sampleShapeOf(generator), outputRange(generator, samples), zoom);
}

/** Draws n samples of the generator and writes their picture as a PNG file. Returns the picture's size. */
export function writeSamplePicture(generator: LayersModel, seed: number, n: number, file: string, zoom = 1): { width: number; height: number } {
  const r = samplePicture(generator, seed, n, zoom);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, encodePng(r));
  return { width: r.width, height: r.height };
}
