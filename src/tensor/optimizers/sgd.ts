/** Plain stochastic gradient descent: p ← p − lr · g. */
import type { KernelExports } from './simd/regions.js';
import { f, SlotOptimizer, type KernelChoice, type SpecOf } from './optimizer.js';

export class Sgd extends SlotOptimizer {
  constructor(_spec: SpecOf<'sgd'>, size: number, kernels?: KernelChoice) {
    super('sgd', size, [], 0, kernels);
  }

  protected simdStep(k: KernelExports, n: number, lr: number, gradScale: number): void {
    k.sgd(n, f(-lr), gradScale);
  }

  protected jsStep(p: Float32Array, g: Float32Array, lr: number, gradScale: number): void {
    const nlr = f(-lr);
    for (let i = 0; i < p.length; i++) p[i] += f(nlr * f(g[i] * gradScale));
  }
}
