/** The memory a job's data takes once loaded (float32 features, both splits), known from its spec alone. */
import type { DataSpec } from '../spec/job-spec.js';

const FASHION_MNIST = { train: 60_000, test: 10_000, features: 28 * 28 };

export function dataBytes(spec: DataSpec): number {
  if (spec.source === 'synthetic') return Math.ceil(spec.samples * 1.2) * (spec.features + 1) * 4;
  const train = Math.min(spec.limit ?? FASHION_MNIST.train, FASHION_MNIST.train);
  const test = Math.min(spec.testLimit ?? FASHION_MNIST.test, FASHION_MNIST.test);
  return (train + test) * (FASHION_MNIST.features + 1) * 4;
}
