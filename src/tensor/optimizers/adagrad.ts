/** Adagrad, as tfjs-core's AdagradOptimizer: the accumulator starts at initialAccumulator. */
import type { KernelExports } from './simd/regions.js';
import { f, SlotOptimizer, type KernelChoice, type SpecOf } from './optimizer.js';

const eps = f(1e-7); // tfjs-core's backend epsilon

export class Adagrad extends SlotOptimizer {
  constructor(spec: SpecOf<'adagrad'>, size: number, kernels?: KernelChoice) {
    super('adagrad', size, ['accum'], spec.initialAccumulator, kernels);
  }

  protected simdStep(k: KernelExports, n: number, lr: number, gradScale: number): void {
    k.adagrad(n, eps, f(-lr), gradScale);
  }

  protected jsStep(p: Float32Array, g: Float32Array, lr: number, gradScale: number): void {
    const a = this.slots.accum;
    const nlr = f(-lr);
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i] * gradScale);
      a[i] += f(gi * gi);
      p[i] += f(f(gi / f(Math.sqrt(f(a[i] + eps)))) * nlr);
    }
  }
}
