/** The DCGAN zoo: shapes, the guidelines' layer choices, and clear errors for images it cannot build. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { JobSpecError } from '../src/util/errors.js';
import { generatorSchema, discriminatorSchema } from '../src/jobs/gan/spec.js';
import { buildGan } from '../src/jobs/gan/zoo.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const specs = (g: object = {}, d: object = {}) => [generatorSchema.parse({ zoo: 'dcgan', ...g }), discriminatorSchema.parse({ zoo: 'dcgan', ...d })] as const;
const kinds = (m: tfl.LayersModel) => m.layers.map((l) => l.getClassName());

describe('dcgan zoo', () => {
  it('28×28×1: the generator upsamples 7 → 14 → 28 with transposed convolutions to a tanh image; the discriminator downsamples to one logit', () => {
    const [g, d] = specs();
    const { generator, discriminator } = buildGan(g, d, 10, [28, 28, 1], 1);
    const img = generator.predict(tf.randomNormal([3, 10])) as tf.Tensor;
    expect(img.shape).toEqual([3, 28, 28, 1]);
    const v = img.dataSync();
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
    expect((discriminator.predict(img) as tf.Tensor).shape).toEqual([3, 1]);
    expect(kinds(generator)).toEqual(['Dense', 'Reshape', 'SyncBatchNormalization', 'Activation', 'Conv2DTranspose', 'SyncBatchNormalization', 'Activation', 'Conv2DTranspose']);
    expect(generator.layers[4].outputShape).toEqual([null, 14, 14, 32]);
    expect(generator.layers.at(-1)!.getConfig()).toMatchObject({ activation: 'tanh', strides: [2, 2], useBias: true });
    // No pooling; no batch-norm on the input layer; LeakyReLU throughout.
    expect(kinds(discriminator)).toEqual(['Conv2D', 'LeakyReLU', 'Conv2D', 'SyncBatchNormalization', 'LeakyReLU', 'Flatten', 'Dense']);
    expect(discriminator.layers[2].getConfig()).toMatchObject({ strides: [2, 2], useBias: false });
    expect(discriminator.layers[0].getConfig()).toMatchObject({ useBias: true });
  });

  it('RGB images and three upsampling layers: 32×32×3 from 4×4', () => {
    const [g, d] = specs({ filters: [16, 8, 4], batchNorm: 'local' }, { filters: [4, 8, 16], batchNorm: 'none' });
    const { generator, discriminator } = buildGan(g, d, 5, [32, 32, 3], 2);
    expect(generator.layers[1].outputShape).toEqual([null, 4, 4, 16]);
    expect((generator.predict(tf.zeros([2, 5])) as tf.Tensor).shape).toEqual([2, 32, 32, 3]);
    expect(kinds(discriminator)).not.toContain('SyncBatchNormalization');
    expect((discriminator.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).shape).toEqual([2, 1]);
  });

  it('the same seed builds the same networks', () => {
    const [g, d] = specs({ filters: [8, 4] }, { filters: [4, 8] });
    const w = (seed: number) => buildGan(g, d, 4, [28, 28, 1], seed).discriminator.getWeights()[0].dataSync();
    expect(Array.from(w(3))).toEqual(Array.from(w(3)));
    expect(Array.from(w(3))).not.toEqual(Array.from(w(4)));
  });

  it('sides not divisible by 2^L, and vectors, are errors that name the key', () => {
    const [g, d] = specs({ filters: [8, 4, 2] });
    expect(() => buildGan(g, d, 4, [28, 28, 1], 1)).toThrow(JobSpecError);
    expect(() => buildGan(g, d, 4, [28, 28, 1], 1)).toThrow(/generator\.filters: 3 upsampling layers need the image's sides \(28×28\) divisible by 8/);
    const [g2, d2] = specs();
    expect(() => buildGan(g2, d2, 4, [2], 1)).toThrow(/generator\.zoo: dcgan needs images \(H, W, C\), got samples of shape \[2\]/);
  });
});
