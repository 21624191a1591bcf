/**
 * Seeded initializers for the networks dtrain builds: the n-th call draws
 * its seed from (job seed, Stream.init, offset + n), so every process that
 * builds the same spec gets the same weights. Each job type's networks
 * take their own offset, so that two networks of one job never share a
 * seed.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { hashInts, Stream } from '../../util/rng.js';

type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** Kernel and bias initialisers, a distinct reproducible seed for each call. */
export type InitFactory = () => { kernelInitializer: Initializer; biasInitializer: Initializer };

/** The next initializer seed at each call: (seed, Stream.init, offset + n). */
export function initSeeds(seed: number, offset = 0): () => number {
  let n = 0;
  return () => hashInts(seed, Stream.init, offset + n++) % 2147483647;
}

/** Glorot-uniform kernels and zero biases, each call with the next seed of `seeds`. */
export function seededInit(seeds: () => number): InitFactory {
  return () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: seeds() }), biasInitializer: tfl.initializers.zeros() });
}
