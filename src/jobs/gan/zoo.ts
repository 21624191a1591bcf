/**
 * The networks of a GAN job, initialised from the job seed (so every process
 * builds the same ones). The generator maps a latent vector to a sample of
 * the data's shape; the discriminator maps a sample to one logit.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { DiscriminatorSpec, GeneratorSpec } from './spec.js';
import { dcganDiscriminator, dcganGenerator } from './dcgan.js';
import { activationLayer, ganInit, normLayers, type InitFactory } from './layers.js';

export interface GanModels {
  generator: tfl.LayersModel;
  discriminator: tfl.LayersModel;
}

export function buildGan(g: GeneratorSpec, d: DiscriminatorSpec, latentDim: number, sampleShape: number[], seed: number): GanModels {
  const init = ganInit(seed);
  const generator = g.zoo === 'dcgan' ? dcganGenerator(g, latentDim, sampleShape, init) : mlpGenerator(g, latentDim, sampleShape, init);
  const discriminator = d.zoo === 'dcgan' ? dcganDiscriminator(d, sampleShape, init) : mlpDiscriminator(d, sampleShape, init);
  return { generator, discriminator };
}

type MlpGeneratorSpec = Extract<GeneratorSpec, { zoo: 'mlp' }>;
type MlpDiscriminatorSpec = Extract<DiscriminatorSpec, { zoo: 'mlp' }>;

// DCGAN's guideline: no batch-norm on the discriminator's input layer (nor on the generator's
// output). With one there, the generator's output bias would have a zero gradient, since a shift
// of every fake sample is normalized away, and adaptive optimizers would chase its rounding noise.
function hidden(units: number[], act: string, bn: string, first: object, bnOnFirst: boolean, init: InitFactory): tfl.layers.Layer[] {
  return units.flatMap((u, i) => {
    const norm = bn !== 'none' && (i > 0 || bnOnFirst);
    return [tfl.layers.dense({ units: u, useBias: !norm, ...(i === 0 ? first : {}), ...init() }), ...(norm ? normLayers(bn) : []), activationLayer(act)];
  });
}

function mlpGenerator(g: MlpGeneratorSpec, latentDim: number, sampleShape: number[], init: InitFactory): tfl.LayersModel {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  return tfl.sequential({
    layers: [
      ...hidden(g.hidden, g.activation, g.batchNorm, { inputShape: [latentDim] }, true, init),
      tfl.layers.dense({ units: size, activation: g.output, ...init() }),
      ...(sampleShape.length > 1 ? [tfl.layers.reshape({ targetShape: sampleShape })] : []),
    ],
  });
}

function mlpDiscriminator(d: MlpDiscriminatorSpec, sampleShape: number[], init: InitFactory): tfl.LayersModel {
  const image = sampleShape.length > 1;
  return tfl.sequential({
    layers: [
      ...(image ? [tfl.layers.flatten({ inputShape: sampleShape })] : []),
      ...hidden(d.hidden, d.activation, d.batchNorm, image ? {} : { inputShape: sampleShape }, false, init),
      tfl.layers.dense({ units: 1, ...init() }),
    ],
  });
}
