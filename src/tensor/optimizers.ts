/**
 * Optimizers on flat buffers, in plain float32 arithmetic. Every replica runs
 * the same update on the same averaged gradient, so replicas stay identical;
 * a parameter-server shard runs the same code on its slice. The formulas,
 * and their float32 rounding at every operation, are tfjs-core's, so a plain
 * tfjs loop is a valid reference.
 */
import type { OptimizerSpec } from '../spec/job-spec.js';

export interface OptimizerState {
  name: string;
  iteration: number;
  slots: Record<string, Float32Array>;
  /** Running scalars (Adam's β^t products), kept exactly. */
  scalars?: Record<string, number>;
}

export interface FlatOptimizer {
  /**
   * In place: params ← update(params, gradScale · grads) at learning rate lr.
   * The scale (1/global batch, times any clipping factor) is applied in the
   * same pass, rounded to float32 as a scaled gradient would be.
   */
  step(params: Float32Array, grads: Float32Array, lr: number, gradScale?: number): void;
  stateDict(): OptimizerState;
  loadStateDict(state: OptimizerState): void;
}

class Base {
  iteration = 0;
  slots: Record<string, Float32Array> = {};
  constructor(
    readonly name: string,
    readonly size: number,
    slotNames: string[],
    fill = 0,
  ) {
    for (const s of slotNames) this.slots[s] = new Float32Array(size).fill(fill);
  }
  stateDict(): OptimizerState {
    return { name: this.name, iteration: this.iteration, slots: Object.fromEntries(Object.entries(this.slots).map(([k, v]) => [k, v.slice()])) };
  }
  loadStateDict(state: OptimizerState): void {
    if (state.name !== this.name) throw new Error(`optimizer state is for ${state.name}, not ${this.name}`);
    for (const k of Object.keys(this.slots)) {
      const v = state.slots[k];
      if (!v || v.length !== this.size) throw new Error(`optimizer slot ${k}: expected ${this.size} values`);
      this.slots[k].set(v);
    }
    this.iteration = state.iteration;
  }
}

const f = Math.fround;

export function makeOptimizer(spec: OptimizerSpec, size: number): FlatOptimizer {
  switch (spec.name) {
    case 'sgd':
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1) {
          const nlr = f(-lr);
          for (let i = 0; i < p.length; i++) p[i] += f(nlr * f(g[i] * gradScale));
          this.iteration++;
        }
      })('sgd', size, []);
    case 'momentum': {
      const m = f(spec.momentum);
      const nesterov = spec.nesterov;
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1) {
          const a = this.slots.accum;
          const nlr = f(-lr);
          for (let i = 0; i < p.length; i++) {
            const gi = f(g[i] * gradScale);
            a[i] = f(m * a[i]) + gi;
            p[i] += nesterov ? f(f(gi + f(a[i] * m)) * nlr) : f(nlr * a[i]);
          }
          this.iteration++;
        }
      })('momentum', size, ['accum']);
    }
    case 'adagrad': {
      const eps = f(1e-7); // tfjs-core's backend epsilon
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1) {
          const a = this.slots.accum;
          const nlr = f(-lr);
          for (let i = 0; i < p.length; i++) {
            const gi = f(g[i] * gradScale);
            a[i] += f(gi * gi);
            p[i] += f(f(gi / f(Math.sqrt(f(a[i] + eps)))) * nlr);
          }
          this.iteration++;
        }
      })('adagrad', size, ['accum'], spec.initialAccumulator);
    }
    case 'rmsprop': {
      const decay = f(spec.decay);
      const oneMinusDecay = f(1 - spec.decay);
      const momentum = f(spec.momentum);
      const eps = f(spec.epsilon);
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1) {
          const ms = this.slots.ms;
          const mom = this.slots.mom;
          const flr = f(lr);
          for (let i = 0; i < p.length; i++) {
            const gi = f(g[i] * gradScale);
            ms[i] = f(ms[i] * decay) + f(f(gi * gi) * oneMinusDecay);
            mom[i] = f(mom[i] * momentum) + f(f(gi * flr) / f(Math.sqrt(f(ms[i] + eps))));
            p[i] -= mom[i];
          }
          this.iteration++;
        }
      })('rmsprop', size, ['ms', 'mom']);
    }
    case 'adam': {
      // Float32 at every operation, as tfjs-core does it, including β^t kept
      // as a running float32 product: the two then differ only by the rounding
      // of the gradients they are given.
      const b1 = f(spec.beta1);
      const b2 = f(spec.beta2);
      const ob1 = f(1 - spec.beta1);
      const ob2 = f(1 - spec.beta2);
      const eps = f(spec.epsilon);
      return new (class extends Base {
        acc1 = b1;
        acc2 = b2;
        step(p: Float32Array, g: Float32Array, lr: number, gradScale = 1) {
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
          this.acc1 = f(this.acc1 * b1);
          this.acc2 = f(this.acc2 * b2);
          this.iteration++;
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
      })('adam', size, ['m', 'v']);
    }
  }
}
