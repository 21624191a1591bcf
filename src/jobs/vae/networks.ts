/**
 * The encoder and decoder of a VAE job, initialised from the job seed (so
 * every process builds the same ones). The encoder maps a sample to
 * [μ | logσ²] (2 × latent values, one dense output layer); the decoder maps
 * z to one logit per value of the sample, in the sample's shape (the
 * Bernoulli likelihood applies the sigmoid).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { initSeeds, seededInit, type InitFactory } from '../../tensor/models/seeded-init.js';
import { JobSpecError } from '../../util/errors.js';
import { convShapeProblem, type VaeModelSpec } from './spec.js';

export interface VaeNetworks {
  encoder: tfl.LayersModel;
  decoder: tfl.LayersModel;
}

type MlpSpec = Extract<VaeModelSpec, { zoo: 'mlp' }>;
type ConvSpec = Extract<VaeModelSpec, { zoo: 'conv' }>;
type Activation = MlpSpec['activation'];

type Init = InitFactory;

export function buildVae(model: VaeModelSpec, latent: number, sampleShape: number[], seed: number): VaeNetworks {
  // Glorot-uniform kernels with a distinct seed per layer (from the job seed), zero biases.
  const init = seededInit(initSeeds(seed, 2000));
  return model.zoo === 'conv' ? convVae(model, latent, sampleShape, init) : mlpVae(model, latent, sampleShape, init);
}

function mlpVae(m: MlpSpec, latent: number, sampleShape: number[], init: Init): VaeNetworks {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  const flat = sampleShape.length > 1;
  const dense = (units: number, activation: Activation, first?: object) => tfl.layers.dense({ units, activation, ...first, ...init() });
  const encoder = tfl.sequential({
    layers: [
      ...(flat ? [tfl.layers.flatten({ inputShape: sampleShape })] : []),
      ...m.hidden.map((u, i) => dense(u, m.activation, i === 0 && !flat ? { inputShape: sampleShape } : undefined)),
      dense(2 * latent, 'linear'),
    ],
  });
  const decoder = tfl.sequential({
    layers: [
      ...[...m.hidden].reverse().map((u, i) => dense(u, m.activation, i === 0 ? { inputShape: [latent] } : undefined)),
      dense(size, 'linear'),
      ...(flat ? [tfl.layers.reshape({ targetShape: sampleShape })] : []),
    ],
  });
  return { encoder, decoder };
}

function convVae(m: ConvSpec, latent: number, sampleShape: number[], init: Init): VaeNetworks {
  const problem = convShapeProblem(m.filters.length, sampleShape);
  if (problem) throw new JobSpecError('job', [{ path: sampleShape.length === 3 ? 'model.filters' : 'model.zoo', message: problem }]);
  const [h, w, c] = sampleShape;
  const down = 2 ** m.filters.length;
  const conv = { kernelSize: m.kernelSize, strides: 2, padding: 'same' as const };
  const encoder = tfl.sequential({
    layers: [
      ...m.filters.map((filters, i) => tfl.layers.conv2d({ filters, ...conv, activation: m.activation, ...(i === 0 ? { inputShape: sampleShape } : {}), ...init() })),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 * latent, ...init() }),
    ],
  });
  const last = m.filters[m.filters.length - 1];
  const up = [...m.filters].reverse().slice(1);
  const decoder = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: (h / down) * (w / down) * last, activation: m.activation, inputShape: [latent], ...init() }),
      tfl.layers.reshape({ targetShape: [h / down, w / down, last] }),
      ...up.map((filters) => tfl.layers.conv2dTranspose({ filters, ...conv, activation: m.activation, ...init() })),
      tfl.layers.conv2dTranspose({ filters: c, ...conv, ...init() }),
    ],
  });
  return { encoder, decoder };
}
