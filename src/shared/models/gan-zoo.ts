/**
 * The networks of a GAN job, initialised from the job seed (so every process
 * builds the same ones). The generator maps a latent vector to a sample of
 * the data's shape; the discriminator maps a sample to one logit.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { DiscriminatorSpec, GeneratorSpec } from '../gan-spec.js';
import { hashInts, Stream } from '../rng.js';
import { SyncBatchNormalization } from './sync-batch-norm.js';

export interface GanModels {
  generator: tfl.LayersModel;
  discriminator: tfl.LayersModel;
}

export function buildGan(g: GeneratorSpec, d: DiscriminatorSpec, latentDim: number, sampleShape: number[], seed: number): GanModels {
  let n = 0;
  const init = () => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: hashInts(seed, Stream.init, 1000 + n++) % 2147483647 }),
    biasInitializer: tfl.initializers.zeros(),
  });
  const activation = (name: string) => (name === 'leakyRelu' ? tfl.layers.leakyReLU({ alpha: 0.2 }) : tfl.layers.activation({ activation: name as 'relu' }));
  // DCGAN's guideline: no batch-norm on the discriminator's input layer (nor on the generator's
  // output). With one there, the generator's output bias would have a zero gradient, since a shift
  // of every fake sample is normalized away, and adaptive optimizers would chase its rounding noise.
  const hidden = (units: number[], act: string, bn: string, first: object, bnOnFirst: boolean): tfl.layers.Layer[] =>
    units.flatMap((u, i) => {
      const norm = bn !== 'none' && (i > 0 || bnOnFirst);
      return [
        tfl.layers.dense({ units: u, useBias: !norm, ...(i === 0 ? first : {}), ...init() }),
        ...(norm ? [new SyncBatchNormalization({ sync: bn === 'sync' })] : []),
        activation(act),
      ];
    });
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const generator = tfl.sequential({
    layers: [
      ...hidden(g.hidden, g.activation, g.batchNorm, { inputShape: [latentDim] }, true),
      tfl.layers.dense({ units: size, activation: g.output, ...init() }),
      ...(sampleShape.length > 1 ? [tfl.layers.reshape({ targetShape: sampleShape })] : []),
    ],
  });
  const discriminator = tfl.sequential({
    layers: [
      ...(sampleShape.length > 1 ? [tfl.layers.flatten({ inputShape: sampleShape })] : []),
      ...hidden(d.hidden, d.activation, d.batchNorm, sampleShape.length > 1 ? {} : { inputShape: sampleShape }, false),
      tfl.layers.dense({ units: 1, ...init() }),
    ],
  });
  return { generator, discriminator };
}
