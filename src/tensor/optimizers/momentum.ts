/** SGD with momentum, optionally Nesterov's, as tfjs-core's MomentumOptimizer. */
import type { KernelExports } from './simd/regions.js';
import { f, SlotOptimizer, type KernelChoice, type SpecOf } from './optimizer.js';

export class Momentum extends SlotOptimizer {
  private readonly m: number;
  private readonly nesterov: boolean;

  constructor(spec: SpecOf<'momentum'>, size: number, kernels?: KernelChoice) {
    super('momentum', size, ['accum'], 0, kernels);
    this.m = f(spec.momentum);
    this.nesterov = spec.nesterov;
  }

  protected simdStep(k: KernelExports, n: number, lr: number, gradScale: number): void {
    k.momentum(n, this.m, this.nesterov ? 1 : 0, f(-lr), gradScale);
  }

  protected jsStep(p: Float32Array, g: Float32Array, lr: number, gradScale: number): void {
    const { m, nesterov } = this;
    const a = this.slots.accum;
    const nlr = f(-lr);
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i] * gradScale);
      a[i] = f(m * a[i]) + gi;
      p[i] += nesterov ? f(f(gi + f(a[i] * m)) * nlr) : f(nlr * a[i]);
    }
  }
}
