/** SGD with momentum, optionally Nesterov's, as tfjs-core's MomentumOptimizer. */
import { f, SlotOptimizer, type SpecOf } from './optimizer.js';

export class Momentum extends SlotOptimizer {
  private readonly m: number;
  private readonly nesterov: boolean;

  constructor(spec: SpecOf<'momentum'>, size: number) {
    super('momentum', size, ['accum']);
    this.m = f(spec.momentum);
    this.nesterov = spec.nesterov;
  }

  step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1): void {
    const { m, nesterov } = this;
    const a = this.slots.accum;
    const nlr = f(-lr);
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i] * gradScale);
      a[i] = f(m * a[i]) + gi;
      p[i] += nesterov ? f(f(gi + f(a[i] * m)) * nlr) : f(nlr * a[i]);
    }
    this.iteration++;
  }
}
