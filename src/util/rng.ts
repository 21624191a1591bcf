/**
 * Seeded randomness. Every random draw in a job comes from here, keyed by
 * (job seed, purpose, step, global sample index...) so that results do not
 * depend on how samples were split across workers.
 */

/** 32-bit finalizer of MurmurHash3: a good avalanche on one word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of integers into one unsigned 32-bit word. */
export function hashInts(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const k of keys) {
    // Fold values beyond 32 bits so that large step counts still differ.
    const lo = k >>> 0;
    const hi = Math.floor(k / 4294967296) >>> 0;
    h = fmix32(h ^ lo);
    h = fmix32((h + Math.imul(hi, 0x27d4eb2d)) >>> 0);
  }
  return h;
}

/**
 * hashInts(a, b) for integers a, b in [0, 2^32), split for hot loops:
 * hashPair(hashPrefix(a), b) equals it bit for bit, without the variadic
 * call (an array per call) or the high-word folding, which is the identity
 * for values below 2^32. Dropout masks draw one per element (62 k a step
 * for the quick-start MLP at batch 128).
 */
export function hashPrefix(a: number): number {
  return fmix32(fmix32(0x9e3779b9 ^ a));
}
export function hashPair(prefix: number, b: number): number {
  return fmix32(fmix32(prefix ^ b));
}

/** Uniform in [0, 1) from a key: counter-based, so any element can be drawn alone. */
export function uniformAt(...keys: number[]): number {
  return hashInts(...keys) / 4294967296;
}

/** A small sequential generator (mulberry32), for shuffles and synthetic data. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = hashInts(seed) || 1;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** Purposes, so that streams for different uses never collide. */
export const Stream = { shuffle: 1, dropout: 2, init: 3, synthetic: 4, noise: 5, attack: 6, split: 7, validation: 8, reparameterisation: 9, sequences: 10 } as const;

/** The permutation of [0, n) used for epoch `epoch` of a job seeded `seed`. */
export function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new Rng(hashInts(seed, Stream.shuffle, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}
