/**
 * Optimizers on flat buffers, in plain float32 arithmetic. Every replica runs
 * the same update on the same averaged gradient, so replicas stay identical;
 * a parameter-server shard runs the same code on its slice. The formulas are
 * tfjs-core's, so a plain tfjs loop is a valid reference.
 */
import type { OptimizerSpec } from './job-spec.js';

export interface OptimizerState {
  name: string;
  iteration: number;
  slots: Record<string, Float32Array>;
}

export interface FlatOptimizer {
  /** In place: params ← update(params, grads) at learning rate lr. */
  step(params: Float32Array, grads: Float32Array, lr: number): void;
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
        step(p: Float32Array, g: Float32Array, lr: number) {
          for (let i = 0; i < p.length; i++) p[i] -= f(lr * g[i]);
          this.iteration++;
        }
      })('sgd', size, []);
    case 'momentum': {
      const { momentum: m, nesterov } = spec;
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number) {
          const a = this.slots.accum;
          for (let i = 0; i < p.length; i++) {
            a[i] = f(m * a[i]) + g[i];
            p[i] -= nesterov ? f(lr * f(g[i] + f(a[i] * m))) : f(lr * a[i]);
          }
          this.iteration++;
        }
      })('momentum', size, ['accum']);
    }
    case 'adagrad':
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number) {
          const a = this.slots.accum;
          for (let i = 0; i < p.length; i++) {
            a[i] += f(g[i] * g[i]);
            p[i] -= f(lr * f(g[i] / f(Math.sqrt(f(a[i] + 1e-7)))));
          }
          this.iteration++;
        }
      })('adagrad', size, ['accum'], spec.initialAccumulator);
    case 'rmsprop': {
      const { decay, momentum, epsilon } = spec;
      return new (class extends Base {
        step(p: Float32Array, g: Float32Array, lr: number) {
          const ms = this.slots.ms;
          const mom = this.slots.mom;
          for (let i = 0; i < p.length; i++) {
            ms[i] = f(ms[i] * decay) + f(f(g[i] * g[i]) * (1 - decay));
            mom[i] = f(mom[i] * momentum) + f(f(g[i] * lr) / f(Math.sqrt(f(ms[i] + epsilon))));
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
        step(p: Float32Array, g: Float32Array, lr: number) {
          const m = this.slots.m;
          const v = this.slots.v;
          const c1 = f(1 - this.acc1);
          const c2 = f(1 - this.acc2);
          const nlr = f(-lr);
          for (let i = 0; i < p.length; i++) {
            m[i] = f(b1 * m[i]) + f(ob1 * g[i]);
            v[i] = f(b2 * v[i]) + f(ob2 * f(g[i] * g[i]));
            const mh = f(m[i] / c1);
            const vh = f(v[i] / c2);
            p[i] += f(f(mh / f(f(Math.sqrt(vh)) + eps)) * nlr);
          }
          this.acc1 = f(this.acc1 * b1);
          this.acc2 = f(this.acc2 * b2);
          this.iteration++;
        }
        override loadStateDict(state: OptimizerState): void {
          super.loadStateDict(state);
          this.acc1 = f(spec.beta1 ** (state.iteration + 1));
          this.acc2 = f(spec.beta2 ** (state.iteration + 1));
        }
      })('adam', size, ['m', 'v']);
    }
  }
}
