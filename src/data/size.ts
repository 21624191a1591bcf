/**
 * The memory a job's data takes once loaded (float32 features, both splits),
 * known before anything is read: from the spec, or an upper bound from the
 * files' sizes.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSpec } from '../spec/job-spec.js';

const FASHION_MNIST = { train: 60_000, test: 10_000, features: 28 * 28 };

const fileBytes = (p: string | undefined): number => {
  try {
    return p === undefined ? 0 : statSync(p).size;
  } catch {
    return 0;
  }
};

/** The image files under a class-folder tree (one level of folders). */
function imageCount(dir: string | undefined): number {
  if (dir === undefined) return 0;
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .reduce((n, d) => n + readdirSync(join(dir, d.name)).filter((f) => /\.(png|jpe?g)$/i.test(f)).length, 0);
  } catch {
    return 0;
  }
}

export function dataBytes(spec: DataSpec): number {
  switch (spec.source) {
    case 'synthetic':
      return Math.ceil(spec.samples * 1.2) * (spec.features + 1) * 4;
    case 'fashion-mnist': {
      const train = Math.min(spec.limit ?? FASHION_MNIST.train, FASHION_MNIST.train);
      const test = Math.min(spec.testLimit ?? FASHION_MNIST.test, FASHION_MNIST.test);
      return (train + test) * (FASHION_MNIST.features + 1) * 4;
    }
    // A value takes at least 2 characters of a CSV ("1,"), and 4 bytes once loaded.
    case 'csv':
      return 2 * (fileBytes(spec.path) + fileBytes(spec.testPath));
    // At least a byte a value on disk (dtype u1), 4 once loaded.
    case 'npy':
      return 4 * (fileBytes(spec.x) + fileBytes(spec.y) + fileBytes(spec.testX) + fileBytes(spec.testY));
    case 'images':
      return (imageCount(spec.path) + imageCount(spec.testPath)) * (spec.size[0] * spec.size[1] * spec.channels + 1) * 4;
    // Read on demand by the workers: the coordinator holds none of it.
    case 'module':
      return 0;
  }
}
