import type { DataSplits } from '../../data/dataset.js';
import { rescaled } from '../../data/dataset.js';
import { loadData } from '../../data/load.js';
import type { GanJob } from './spec.js';

/**
 * The data as a GAN trains on it: images in [−1, 1], the range of the
 * generator's tanh output (DCGAN's convention); other data as loaded.
 * Every process calls it and gets the same samples.
 */
export function loadGanData(spec: GanJob): DataSplits {
  const data = loadData(spec.data, spec.seed);
  if (spec.data.source !== 'fashion-mnist') return data;
  return { train: rescaled(data.train, -1, 1), test: rescaled(data.test, -1, 1) };
}
