/**
 * The 2-D Gaussian mixtures of the GAN literature, for judging mode coverage:
 * ring8, 8 modes on a circle of radius 2 (σ 0.02 by default), and grid25, a
 * 5×5 grid with spacing 2 from −4 to 4 (σ 0.05). Labels are the mode index.
 */
import { hashInts, Rng, Stream } from '../util/rng.js';
import type { InMemorySplits, Dataset } from './dataset.js';

export type MixtureKind = 'ring8' | 'grid25';

export const DEFAULT_MIXTURE_NOISE: Record<MixtureKind, number> = { ring8: 0.02, grid25: 0.05 };

/** Mode centres, [x0, y0, x1, y1, …]. */
export function mixtureModes(kind: MixtureKind): Float32Array {
  if (kind === 'ring8') {
    return Float32Array.from({ length: 16 }, (_, i) => {
      const a = (2 * Math.PI * (i >> 1)) / 8;
      return 2 * (i % 2 === 0 ? Math.cos(a) : Math.sin(a));
    });
  }
  return Float32Array.from({ length: 50 }, (_, i) => -4 + 2 * (i % 2 === 0 ? Math.floor(i / 2 / 5) : (i >> 1) % 5));
}

export function makeMixture(kind: MixtureKind, samples: number, noise: number, seed: number): InMemorySplits {
  const modes = mixtureModes(kind);
  const k = modes.length / 2;
  const draw = (n: number, split: number): Dataset => {
    const rng = new Rng(hashInts(seed, Stream.synthetic, split));
    const x = new Float32Array(n * 2);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const m = Math.floor(rng.next() * k);
      y[i] = m;
      x[2 * i] = modes[2 * m] + noise * rng.normal();
      x[2 * i + 1] = modes[2 * m + 1] + noise * rng.normal();
    }
    return { size: n, featureShape: [2], classes: k, x, scale: 1, y };
  };
  return { train: draw(samples, 1), test: draw(Math.max(k, Math.floor(samples / 5)), 2) };
}

export interface ModeCoverage {
  /** Modes with at least 1% of the samples within 3σ. */
  modesCovered: number;
  modes: number;
  /** Fraction of samples within 3σ of some mode. */
  highQuality: number;
}

/** How well 2-D samples cover a mixture's modes (the measures of Srivastava et al.'s VEEGAN). */
export function modeCoverage(kind: MixtureKind, noise: number, points: Float32Array): ModeCoverage {
  const modes = mixtureModes(kind);
  const k = modes.length / 2;
  const n = points.length / 2;
  const near = new Int32Array(k);
  let good = 0;
  const r2 = (3 * noise) ** 2;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let m = 0; m < k; m++) {
      const d = (points[2 * i] - modes[2 * m]) ** 2 + (points[2 * i + 1] - modes[2 * m + 1]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = m;
      }
    }
    if (bestD <= r2) {
      near[best]++;
      good++;
    }
  }
  return { modesCovered: Array.from(near).filter((c) => c >= 0.01 * n).length, modes: k, highQuality: n === 0 ? 0 : good / n };
}
