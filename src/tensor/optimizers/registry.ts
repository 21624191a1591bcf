/**
 * The optimizer registry: one factory per name the optimizer schema accepts
 * (src/spec/parts.ts). Adding an optimizer means a schema entry, a class and
 * a line here; the mapped type makes the compiler insist on all three.
 */
import type { OptimizerSpec } from '../../spec/job-spec.js';
import { Adagrad } from './adagrad.js';
import { Adam } from './adam.js';
import { Momentum } from './momentum.js';
import type { FlatOptimizer, KernelChoice, OptimizerName, SpecOf } from './optimizer.js';
import { Rmsprop } from './rmsprop.js';
import { Sgd } from './sgd.js';

export type OptimizerFactory<N extends OptimizerName = OptimizerName> = (spec: SpecOf<N>, size: number, kernels?: KernelChoice) => FlatOptimizer;

/** Each entry is given only its own kind of spec. */
export const optimizerRegistry: { readonly [N in OptimizerName]: OptimizerFactory<N> } = {
  sgd: (spec, size, kernels) => new Sgd(spec, size, kernels),
  momentum: (spec, size, kernels) => new Momentum(spec, size, kernels),
  adagrad: (spec, size, kernels) => new Adagrad(spec, size, kernels),
  rmsprop: (spec, size, kernels) => new Rmsprop(spec, size, kernels),
  adam: (spec, size, kernels) => new Adam(spec, size, kernels),
};

/** A fresh optimizer for `size` flat parameters, looked up by `spec.name`. */
export function makeOptimizer(spec: OptimizerSpec, size: number, kernels: KernelChoice = 'simd'): FlatOptimizer {
  const name: string = spec.name;
  if (!Object.hasOwn(optimizerRegistry, name)) {
    throw new Error(`unknown optimizer "${name}" (known: ${Object.keys(optimizerRegistry).join(', ')})`);
  }
  // The entry under spec.name takes exactly this spec; TypeScript cannot
  // correlate the two through the union, hence the widening.
  const make = optimizerRegistry[spec.name] as (spec: OptimizerSpec, size: number, kernels: KernelChoice) => FlatOptimizer;
  return make(spec, size, kernels);
}
