/**
 * The update a replica applies itself once the gradients are summed: divide
 * by the global batch, clip by global norm, optimizer step. Every replica
 * runs it on the same sum, so replicas stay identical. Both scalings happen
 * inside the optimizer's one pass over the buffer.
 *
 * With `range` (workers on one machine, the optimizer sharded across them)
 * the step runs on params[a, b) alone and the state covers that range; the
 * norm is still the whole sum's, so every worker clips and skips alike, and
 * each value's update is the one the whole step would make (the optimizers
 * are element-wise).
 */
import { makeOptimizer, sliceState, type FlatOptimizer, type OptimizerState } from '../../tensor/optimizers/index.js';
import { clipFactor, l2norm } from '../../tensor/schedule.js';
import type { UpdateArgs, UpdateRule } from './reducer.js';

export class LocalUpdate {
  private optimizer: FlatOptimizer | undefined;
  constructor(
    private readonly rule: UpdateRule,
    /** The part [a, b) of the parameters this replica updates; absent: all. */
    readonly range?: readonly [number, number],
  ) {}

  /** Applies one step; false, changing nothing, when the rule skips a sum that is not finite (every replica sees the same sum). */
  apply(params: Float32Array, summed: Float32Array, u: UpdateArgs): boolean {
    const [a, b] = this.range ?? [0, params.length];
    this.optimizer ??= makeOptimizer(this.rule.optimizer, b - a);
    const inv = 1 / u.globalBatch;
    // A NaN or an infinity anywhere makes the norm (a float64 sum of squares) NaN or infinite.
    const norm = this.rule.clipNorm !== undefined || this.rule.skipNonFinite ? l2norm(summed) : 0;
    if (this.rule.skipNonFinite && !Number.isFinite(norm)) return false;
    const clip = this.rule.clipNorm === undefined ? 1 : clipFactor(inv * norm, this.rule.clipNorm);
    if (this.range) this.optimizer.step(params.subarray(a, b), summed.subarray(a, b), u.lr, inv * clip);
    else this.optimizer.step(params, summed, u.lr, inv * clip);
    return true;
  }

  /** The optimizer's state (of `range` alone, where set); null before the first step (the optimizer is made then, fresh). */
  stateDict(): OptimizerState | null {
    return this.optimizer?.stateDict() ?? null;
  }

  /** Resumes from a checkpoint's state, of all the parameters (null: fresh, as before any step). */
  loadStateDict(full: OptimizerState | null): void {
    if (!full) {
      this.optimizer = undefined;
      return;
    }
    const state = this.range ? sliceState(full, this.range[0], this.range[1] - this.range[0]) : full;
    const slots = Object.values(state.slots);
    this.optimizer = makeOptimizer(this.rule.optimizer, slots.length > 0 ? slots[0].length : 0);
    this.optimizer.loadStateDict(state);
  }
}
