/**
 * Optimizers on flat float32 buffers, bit-compatible with tfjs-core's: the
 * public face of this folder. `makeOptimizer(spec, size)` builds one by name
 * from the registry; see optimizer.ts for the interface and shared state.
 */
export { SlotOptimizer, type FlatOptimizer, type KernelChoice, type OptimizerName, type OptimizerState, type SpecOf } from './optimizer.js';
export { makeOptimizer, optimizerRegistry, type OptimizerFactory } from './registry.js';
export { Adagrad } from './adagrad.js';
export { Adam } from './adam.js';
export { Momentum } from './momentum.js';
export { Rmsprop } from './rmsprop.js';
export { Sgd } from './sgd.js';

export { joinStates, packStates, sliceState, unpackStates, type OptimizerStateMeta, type PackedStates } from './state-blob.js';
