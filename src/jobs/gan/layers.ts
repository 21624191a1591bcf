/** Layer pieces both GAN zoos (MLP and DCGAN) use. */
import * as tfl from '@tensorflow/tfjs-layers';
import { SyncBatchNormalization } from '../../tensor/layers/sync-batch-norm.js';
import { initSeeds, seededInit, type InitFactory } from '../../tensor/models/seeded-init.js';

export type { InitFactory };

/** Glorot-uniform kernels seeded from (job seed, layer number), zero biases; one counter for both networks. */
export function ganInit(seed: number): InitFactory {
  return seededInit(initSeeds(seed, 1000));
}

/** LeakyReLU(0.2) for leakyRelu, else a plain activation layer. */
export function activationLayer(name: string): tfl.layers.Layer {
  return name === 'leakyRelu' ? tfl.layers.leakyReLU({ alpha: 0.2 }) : tfl.layers.activation({ activation: name as 'relu' });
}

/** Batch-norm as the spec asks: none, or dtrain's layer (local or synchronized statistics). */
export function normLayers(bn: string): tfl.layers.Layer[] {
  return bn === 'none' ? [] : [new SyncBatchNormalization({ sync: bn === 'sync' })];
}
