/** Synthetic classification data drawn from the job seed: the same on every worker. */
import { hashInts, Rng, Stream } from '../util/rng.js';
import type { InMemorySplits, Dataset } from './dataset.js';
import { DEFAULT_MIXTURE_NOISE, makeMixture, type MixtureKind } from './mixtures.js';

export interface SyntheticSpec {
  kind: 'blobs' | 'spirals' | MixtureKind;
  samples: number;
  features: number;
  classes: number;
  noise?: number;
}

export function makeSynthetic(s: SyntheticSpec, seed: number): InMemorySplits {
  if (s.kind === 'ring8' || s.kind === 'grid25') return makeMixture(s.kind, s.samples, s.noise ?? DEFAULT_MIXTURE_NOISE[s.kind], seed);
  const spec = { ...s, noise: s.noise ?? 0.5 };
  const centers = blobCenters(spec, new Rng(hashInts(seed, Stream.synthetic, 0)));
  const draw = (n: number, split: number): Dataset => {
    const rng = new Rng(hashInts(seed, Stream.synthetic, split));
    const x = new Float32Array(n * spec.features);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % spec.classes;
      y[i] = c;
      if (spec.kind === 'blobs') {
        for (let j = 0; j < spec.features; j++) x[i * spec.features + j] = centers[c * spec.features + j] + spec.noise * rng.normal();
      } else {
        // Arm c of a spiral: radius grows with t, angle offset by the arm.
        const t = rng.next();
        const angle = 4 * Math.PI * t + (2 * Math.PI * c) / spec.classes;
        const r = 0.2 + 2.8 * t;
        x[i * 2] = r * Math.cos(angle) + spec.noise * 0.2 * rng.normal();
        x[i * 2 + 1] = r * Math.sin(angle) + spec.noise * 0.2 * rng.normal();
      }
    }
    return { size: n, featureShape: [spec.features], classes: spec.classes, x, scale: 1, y };
  };
  return { train: draw(spec.samples, 1), test: draw(Math.max(spec.classes, Math.floor(spec.samples / 5)), 2) };
}

function blobCenters(spec: { classes: number; features: number }, rng: Rng): Float32Array {
  const c = new Float32Array(spec.classes * spec.features);
  for (let i = 0; i < c.length; i++) c[i] = 4 * (2 * rng.next() - 1);
  return c;
}
