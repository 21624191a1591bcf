/**
 * The flat-optimizer interface and the base class the optimizers share. An
 * optimizer works on flat buffers in plain float32 arithmetic. Every replica
 * runs the same update on the same averaged gradient, so replicas stay
 * identical; a parameter-server shard runs the same code on its slice. The
 * formulas, and their float32 rounding at every operation, are tfjs-core's,
 * so a plain tfjs loop is a valid reference.
 */
import type { OptimizerSpec } from '../../spec/job-spec.js';

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

export type OptimizerName = OptimizerSpec['name'];

/** The spec of one optimizer, e.g. `SpecOf<'adam'>` has beta1, beta2, epsilon. */
export type SpecOf<N extends OptimizerName> = Extract<OptimizerSpec, { name: N }>;

/** Rounds to float32; the optimizers apply it after every operation, as tfjs-core does. */
export const f = Math.fround;

/**
 * An optimizer whose state is an iteration count and named per-parameter
 * slots (accumulators), each `size` float32 values starting at `fill`.
 */
export abstract class SlotOptimizer implements FlatOptimizer {
  iteration = 0;
  protected readonly slots: Record<string, Float32Array> = {};

  constructor(
    readonly name: OptimizerName,
    readonly size: number,
    slotNames: string[],
    fill = 0,
  ) {
    for (const s of slotNames) this.slots[s] = new Float32Array(size).fill(fill);
  }

  abstract step(params: Float32Array, grads: Float32Array, lr: number, gradScale?: number): void;

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
