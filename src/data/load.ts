import type { DataSpec } from '../spec/job-spec.js';
import { head, type DataSplits } from './dataset.js';
import { loadFashionMnist } from './idx.js';
import { makeSynthetic } from './synthetic.js';

/** Loads the data a job names. Every process calls it and gets the same samples. */
export function loadData(spec: DataSpec, seed: number): DataSplits {
  if (spec.source === 'synthetic') return makeSynthetic(spec, seed);
  const all = loadFashionMnist(spec.path);
  return { train: head(all.train, spec.limit), test: head(all.test, spec.testLimit) };
}
