/**
 * The VAE's standard normal draws, keyed by (job seed, purpose, step,
 * global sample index) so that a sample's noise is the same whichever
 * worker holds it: N workers equal one process.
 *   - training: ε of the reparameterisation z = μ + exp(logσ²/2)·ε, per
 *     step and sample of the global batch;
 *   - evaluation: ε per test sample, the same at every evaluation;
 *   - pictures: z ~ N(0, I) for the samples picture, per grid position.
 */
import { hashInts, Rng, Stream } from '../../util/rng.js';

/** What the draws are for: each purpose has its own stream. */
export const Draw = { training: 0, evaluation: 1, picture: 2 } as const;
export type DrawPurpose = (typeof Draw)[keyof typeof Draw];

/** `count` × `dim` standard normals, row-major: row j for global sample `first` + j. */
export function latentNoise(seed: number, purpose: DrawPurpose, step: number, first: number, count: number, dim: number): Float32Array {
  const out = new Float32Array(count * dim);
  for (let j = 0; j < count; j++) {
    const rng = new Rng(hashInts(seed, Stream.reparameterisation, purpose, step, first + j));
    for (let i = 0; i < dim; i++) out[j * dim + i] = rng.normal();
  }
  return out;
}

/** The same, for samples whose global indices are listed (a shard of a step's batch is contiguous, test slices too; this is for any). */
export function latentNoiseAt(seed: number, purpose: DrawPurpose, step: number, indices: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float32Array(indices.length * dim);
  for (let j = 0; j < indices.length; j++) out.set(latentNoise(seed, purpose, step, indices[j], 1, dim), j * dim);
  return out;
}
