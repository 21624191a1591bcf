/** Learning rate at a step, and gradient clipping: the same on every replica. */
import type { LrDecaySpec } from './job-spec.js';

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

/**
 * Scales `grads` in place so that its L2 norm is at most `maxNorm`
 * (g · maxNorm / max(norm, maxNorm)); returns the norm before clipping.
 */
export function clipByGlobalNorm(grads: Float32Array, maxNorm: number | undefined): number {
  let sq = 0;
  for (let i = 0; i < grads.length; i++) sq += grads[i] * grads[i];
  const norm = Math.sqrt(sq);
  if (maxNorm !== undefined && norm > maxNorm) {
    const s = maxNorm / norm;
    for (let i = 0; i < grads.length; i++) grads[i] *= s;
  }
  return norm;
}
