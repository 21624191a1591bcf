import type { DataSpec, JobSpec } from '../spec/job-spec.js';
import { head, rescaled, type DataSplits } from './dataset.js';
import { loadFashionMnist } from './idx.js';
import { makeSynthetic } from './synthetic.js';

/** Loads the data a job names. Every process calls it and gets the same samples. */
export function loadData(spec: DataSpec, seed: number): DataSplits {
  if (spec.source === 'synthetic') return makeSynthetic(spec, seed);
  const all = loadFashionMnist(spec.path);
  return { train: head(all.train, spec.limit), test: head(all.test, spec.testLimit) };
}

/**
 * The data as a job trains on it: GAN jobs see images in [−1, 1], the range
 * of the generator's tanh output (DCGAN's convention); other data as loaded.
 */
export function loadJobData(spec: JobSpec): DataSplits {
  const data = loadData(spec.data, spec.seed);
  if (spec.type !== 'gan' || spec.data.source !== 'fashion-mnist') return data;
  return { train: rescaled(data.train, -1, 1), test: rescaled(data.test, -1, 1) };
}
