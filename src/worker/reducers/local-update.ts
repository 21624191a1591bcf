/**
 * The update a replica applies itself once the gradients are summed: divide
 * by the global batch, clip by global norm, optimizer step. Every replica
 * runs it on the same sum, so replicas stay identical. Both scalings happen
 * inside the optimizer's one pass over the buffer.
 */
import { makeOptimizer, type FlatOptimizer } from '../../tensor/optimizers/index.js';
import { clipFactor, l2norm } from '../../tensor/schedule.js';
import type { UpdateArgs, UpdateRule } from './reducer.js';

export class LocalUpdate {
  private optimizer: FlatOptimizer | undefined;
  constructor(private readonly rule: UpdateRule) {}

  apply(params: Float32Array, summed: Float32Array, u: UpdateArgs): void {
    this.optimizer ??= makeOptimizer(this.rule.optimizer, params.length);
    const inv = 1 / u.globalBatch;
    const clip = this.rule.clipNorm === undefined ? 1 : clipFactor(inv * l2norm(summed), this.rule.clipNorm);
    this.optimizer.step(params, summed, u.lr, inv * clip);
  }
}
