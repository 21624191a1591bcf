/** RMSProp with momentum (not centered), as tfjs-core's RMSPropOptimizer. */
import type { KernelExports } from './simd/regions.js';
import { f, SlotOptimizer, type KernelChoice, type SpecOf } from './optimizer.js';

export class Rmsprop extends SlotOptimizer {
  private readonly decay: number;
  private readonly oneMinusDecay: number;
  private readonly momentum: number;
  private readonly eps: number;

  constructor(spec: SpecOf<'rmsprop'>, size: number, kernels?: KernelChoice) {
    super('rmsprop', size, ['ms', 'mom'], 0, kernels);
    this.decay = f(spec.decay);
    this.oneMinusDecay = f(1 - spec.decay);
    this.momentum = f(spec.momentum);
    this.eps = f(spec.epsilon);
  }

  protected simdStep(k: KernelExports, n: number, lr: number, gradScale: number): void {
    k.rmsprop(n, this.decay, this.oneMinusDecay, this.momentum, this.eps, f(lr), gradScale);
  }

  protected jsStep(p: Float32Array, g: Float32Array, lr: number, gradScale: number): void {
    const { decay, oneMinusDecay, momentum, eps } = this;
    const ms = this.slots.ms;
    const mom = this.slots.mom;
    const flr = f(lr);
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i] * gradScale);
      ms[i] = f(ms[i] * decay) + f(f(gi * gi) * oneMinusDecay);
      mom[i] = f(mom[i] * momentum) + f(f(gi * flr) / f(Math.sqrt(f(ms[i] + eps))));
      p[i] -= mom[i];
    }
  }
}
