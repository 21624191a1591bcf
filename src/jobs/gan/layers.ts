/** Layer pieces both GAN zoos (MLP and DCGAN) use. */
import * as tfl from '@tensorflow/tfjs-layers';
import { hashInts, Stream } from '../../util/rng.js';
import { SyncBatchNormalization } from '../../tensor/layers/sync-batch-norm.js';

type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** Kernel and bias initialisers, a distinct reproducible seed for each call. */
export type InitFactory = () => { kernelInitializer: Initializer; biasInitializer: Initializer };

/** Glorot-uniform kernels seeded from (job seed, layer number), zero biases; one counter for both networks. */
export function seededInit(seed: number): InitFactory {
  let n = 0;
  return () => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: hashInts(seed, Stream.init, 1000 + n++) % 2147483647 }),
    biasInitializer: tfl.initializers.zeros(),
  });
}

/** LeakyReLU(0.2) for leakyRelu, else a plain activation layer. */
export function activationLayer(name: string): tfl.layers.Layer {
  return name === 'leakyRelu' ? tfl.layers.leakyReLU({ alpha: 0.2 }) : tfl.layers.activation({ activation: name as 'relu' });
}

/** Batch-norm as the spec asks: none, or dtrain's layer (local or synchronized statistics). */
export function normLayers(bn: string): tfl.layers.Layer[] {
  return bn === 'none' ? [] : [new SyncBatchNormalization({ sync: bn === 'sync' })];
}
