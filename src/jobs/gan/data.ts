import type { DataSplits } from '../../data/dataset.js';
import { rescaled } from '../../data/dataset.js';
import { openData } from '../../data/load.js';
import type { GanJob } from './spec.js';

/**
 * The data as a GAN trains on it: images in [−1, 1], the range of the
 * generator's tanh output (DCGAN's convention); other data as loaded.
 * Every process calls it and gets the same samples.
 */
export function loadGanData(spec: GanJob): DataSplits | Promise<DataSplits> {
  const images = spec.data.source === 'fashion-mnist' || spec.data.source === 'images';
  const inRange = (data: DataSplits): DataSplits => (images ? { train: rescaled(data.train, -1, 1), test: rescaled(data.test, -1, 1) } : data);
  const data = openData(spec.data, spec.seed);
  return data instanceof Promise ? data.then(inRange) : inRange(data);
}
