/** Adam, as tfjs-core's AdamOptimizer; its state adds the running β^t products. */
import type { KernelExports } from './simd/regions.js';
import { f, SlotOptimizer, type KernelChoice, type OptimizerState, type SpecOf } from './optimizer.js';

// Float32 at every operation, as tfjs-core does it, including β^t kept
// as a running float32 product: the two then differ only by the rounding
// of the gradients they are given.
export class Adam extends SlotOptimizer {
  private readonly b1: number;
  private readonly b2: number;
  private readonly ob1: number;
  private readonly ob2: number;
  private readonly eps: number;
  private acc1: number;
  private acc2: number;

  constructor(spec: SpecOf<'adam'>, size: number, kernels?: KernelChoice) {
    super('adam', size, ['m', 'v'], 0, kernels);
    this.b1 = f(spec.beta1);
    this.b2 = f(spec.beta2);
    this.ob1 = f(1 - spec.beta1);
    this.ob2 = f(1 - spec.beta2);
    this.eps = f(spec.epsilon);
    this.acc1 = this.b1;
    this.acc2 = this.b2;
  }

  protected simdStep(k: KernelExports, n: number, lr: number, gradScale: number): void {
    k.adam(n, this.b1, this.b2, this.ob1, this.ob2, f(1 - this.acc1), f(1 - this.acc2), this.eps, f(-lr), gradScale);
  }

  protected jsStep(p: Float32Array, g: Float32Array, lr: number, gradScale: number): void {
    const { b1, b2, ob1, ob2, eps } = this;
    const m = this.slots.m;
    const v = this.slots.v;
    const c1 = f(1 - this.acc1);
    const c2 = f(1 - this.acc2);
    const nlr = f(-lr);
    for (let i = 0; i < p.length; i++) {
      const gi = f(g[i] * gradScale);
      m[i] = f(b1 * m[i]) + f(ob1 * gi);
      v[i] = f(b2 * v[i]) + f(ob2 * f(gi * gi));
      const mh = f(m[i] / c1);
      const vh = f(v[i] / c2);
      p[i] += f(f(mh / f(f(Math.sqrt(vh)) + eps)) * nlr);
    }
  }

  protected override afterStep(): void {
    this.acc1 = f(this.acc1 * this.b1);
    this.acc2 = f(this.acc2 * this.b2);
  }

  override stateDict(): OptimizerState {
    return { ...super.stateDict(), scalars: { acc1: this.acc1, acc2: this.acc2 } };
  }

  override loadStateDict(state: OptimizerState): void {
    super.loadStateDict(state);
    const sc = state.scalars;
    if (sc?.acc1 === undefined || sc.acc2 === undefined) throw new Error('adam state lacks its β^t products');
    this.acc1 = sc.acc1;
    this.acc2 = sc.acc2;
  }
}
