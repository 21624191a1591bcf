/** Plain stochastic gradient descent: p ← p − lr · g. */
import { f, SlotOptimizer, type SpecOf } from './optimizer.js';

export class Sgd extends SlotOptimizer {
  constructor(_spec: SpecOf<'sgd'>, size: number) {
    super('sgd', size, []);
  }

  step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1): void {
    const nlr = f(-lr);
    for (let i = 0; i < p.length; i++) p[i] += f(nlr * f(g[i] * gradScale));
    this.iteration++;
  }
}
