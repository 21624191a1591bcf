/**
 * DCGAN networks for images (Radford et al.'s guidelines): strided
 * convolutions instead of pooling in the discriminator, transposed
 * convolutions in the generator, batch-norm in both (not on the
 * discriminator's input layer nor the generator's output), ReLU in the
 * generator with a tanh output, LeakyReLU(0.2) in the discriminator.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { JobSpecError } from '../../util/errors.js';
import type { DiscriminatorSpec, GeneratorSpec } from './spec.js';
import { activationLayer, normLayers, type InitFactory } from './layers.js';

type DcganGeneratorSpec = Extract<GeneratorSpec, { zoo: 'dcgan' }>;
type DcganDiscriminatorSpec = Extract<DiscriminatorSpec, { zoo: 'dcgan' }>;

function imageShape(sampleShape: number[], net: string): [number, number, number] {
  if (sampleShape.length !== 3) throw new JobSpecError('job', [{ path: `${net}.zoo`, message: `dcgan needs images (H, W, C), got samples of shape [${sampleShape}]` }]);
  return sampleShape as [number, number, number];
}

/**
 * latent → dense to (H/2^L, W/2^L, filters[0]) → batch-norm, ReLU → for
 * each further filters entry a stride-2 transposed convolution, batch-norm,
 * ReLU → a last stride-2 transposed convolution to the image's channels, tanh.
 */
export function dcganGenerator(g: DcganGeneratorSpec, latentDim: number, sampleShape: number[], init: InitFactory): tfl.LayersModel {
  const [H, W, C] = imageShape(sampleShape, 'generator');
  const up = 2 ** g.filters.length;
  if (H % up !== 0 || W % up !== 0) {
    throw new JobSpecError('job', [
      { path: 'generator.filters', message: `${g.filters.length} upsampling layers need the image's sides (${H}×${W}) divisible by ${up}: use fewer filters entries` },
    ]);
  }
  const norm = g.batchNorm !== 'none';
  const block = () => [...normLayers(g.batchNorm), activationLayer('relu')];
  const transposed = (filters: number, last: boolean) =>
    tfl.layers.conv2dTranspose({ filters, kernelSize: g.kernelSize, strides: 2, padding: 'same', useBias: last || !norm, ...(last ? { activation: 'tanh' } : {}), ...init() });
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: (H / up) * (W / up) * g.filters[0], useBias: !norm, inputShape: [latentDim], ...init() }),
      tfl.layers.reshape({ targetShape: [H / up, W / up, g.filters[0]] }),
      ...block(),
      ...g.filters.slice(1).flatMap((f) => [transposed(f, false), ...block()]),
      transposed(C, true),
    ],
  });
}

/** image → a stride-2 convolution per filters entry, LeakyReLU(0.2) after each (batch-norm before it from the second on) → one logit. */
export function dcganDiscriminator(d: DcganDiscriminatorSpec, sampleShape: number[], init: InitFactory): tfl.LayersModel {
  const shape = imageShape(sampleShape, 'discriminator');
  const layers = d.filters.flatMap((filters, i) => {
    const norm = d.batchNorm !== 'none' && i > 0;
    return [
      tfl.layers.conv2d({ filters, kernelSize: d.kernelSize, strides: 2, padding: 'same', useBias: !norm, ...(i === 0 ? { inputShape: shape } : {}), ...init() }),
      ...(norm ? normLayers(d.batchNorm) : []),
      activationLayer('leakyRelu'),
    ];
  });
  return tfl.sequential({ layers: [...layers, tfl.layers.flatten(), tfl.layers.dense({ units: 1, ...init() })] });
}
