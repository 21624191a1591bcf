/**
 * The flat-optimizer interface and the base class the optimizers share. An
 * optimizer works on flat buffers in plain float32 arithmetic. Every replica
 * runs the same update on the same averaged gradient, so replicas stay
 * identical; a parameter-server shard runs the same code on its slice. The
 * formulas, and their float32 rounding at every operation, are tfjs-core's,
 * so a plain tfjs loop is a valid reference.
 */
import type { OptimizerSpec } from '../../spec/job-spec.js';
import { SimdRegions, type KernelExports } from './simd/regions.js';

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
 * Where an optimizer's update runs: `simd`, the WebAssembly SIMD kernels
 * (simd/kernels.wat), bit for bit the reference; `js`, the reference loops
 * themselves. `simd` falls back to `js` where the kernels cannot run.
 */
export type KernelChoice = 'simd' | 'js';

/**
 * An optimizer whose state is an iteration count and named per-parameter
 * slots (accumulators), each `size` float32 values starting at `fill`.
 */
export abstract class SlotOptimizer implements FlatOptimizer {
  iteration = 0;
  protected readonly slots: Record<string, Float32Array> = {};
  /** The SIMD kernels and their memory, which holds the slots; undefined: the reference loops run. */
  private readonly simd: SimdRegions | undefined;

  constructor(
    readonly name: OptimizerName,
    readonly size: number,
    slotNames: string[],
    fill = 0,
    kernels: KernelChoice = 'simd',
  ) {
    this.simd = kernels === 'simd' ? SimdRegions.tryMake(size, 2 + slotNames.length) : undefined;
    slotNames.forEach((s, k) => (this.slots[s] = (this.simd?.region(2 + k) ?? new Float32Array(size)).fill(fill)));
  }

  /** Which loops run the update. */
  get kernels(): KernelChoice {
    return this.simd ? 'simd' : 'js';
  }

  step(params: Float32Array, grads: Float32Array, lr: number, gradScale = 1): void {
    if (this.simd) this.simd.run(params, grads, (k, n) => this.simdStep(k, n, lr, gradScale));
    else this.jsStep(params, grads, lr, gradScale);
    this.iteration++;
    this.afterStep();
  }

  /** The update by the SIMD kernel, on `n` padded values in the kernels' memory. */
  protected abstract simdStep(k: KernelExports, n: number, lr: number, gradScale: number): void;
  /** The reference update: float32 at every operation, as tfjs-core. */
  protected abstract jsStep(params: Float32Array, grads: Float32Array, lr: number, gradScale: number): void;
  /** Running scalars advance here (Adam's β^t). */
  protected afterStep(): void {}

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
