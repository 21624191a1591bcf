/** Learning rate at a step, and gradient clipping: the same on every replica. */
import type { LrDecaySpec } from '../spec/job-spec.js';

/** Learning rate for 0-based `step` of a run of `totalSteps`. */
export function lrAt(base: number, decay: LrDecaySpec, step: number, totalSteps: number): number {
  switch (decay.kind) {
    case 'none':
      return base;
    case 'exponential':
      return base * decay.rate ** (step / decay.every);
    case 'step':
      return base * decay.rate ** Math.floor(step / decay.every);
    case 'inverse-time':
      return base / (1 + decay.rate * step);
    case 'cosine': {
      const t = totalSteps <= 1 ? 0 : Math.min(1, step / (totalSteps - 1));
      return base * (decay.floor + (1 - decay.floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
    }
  }
}

/** L2 norm, accumulated in float64. */
export function l2norm(v: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  return Math.sqrt(sq);
}

/**
 * The factor that clips a gradient of L2 norm `norm` to at most `maxNorm`
 * (maxNorm / max(norm, maxNorm)); 1 when there is no limit.
 */
export function clipFactor(norm: number, maxNorm: number | undefined): number {
  return maxNorm !== undefined && norm > maxNorm ? maxNorm / norm : 1;
}
