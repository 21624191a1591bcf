/**
 * data.validation: a share of the training samples held out, by the job
 * seed, as the validation split the periodic evaluations read. Every
 * process draws the same split. In memory, both parts are copied out of the
 * training set as stored; a data module's reader is wrapped to map indices.
 */
import { inMemory, subset, type DataSplits, type InMemorySplits, type SampleReader, type Samples } from './dataset.js';
import { DataError } from '../util/errors.js';
import { hashInts, Stream } from '../util/rng.js';
import { drawHeldOut } from './sources/table.js';

/** `splits` with `fraction` of its training samples moved to a validation split. */
export function withValidation(splits: InMemorySplits, fraction: number, seed: number): InMemorySplits;
export function withValidation(splits: DataSplits, fraction: number, seed: number): DataSplits;
export function withValidation(splits: DataSplits, fraction: number, seed: number): DataSplits {
  const n = splits.train.size;
  const k = Math.round(n * fraction);
  if (k < 1 || k > n - 1) throw new DataError(`data.validation ${fraction}: ${n} training samples are too few to hold out a validation split`);
  // Its own stream: not the draw of a test split held out of the same file.
  const { kept, held } = drawHeldOut(n, k, hashInts(seed, Stream.validation, n));
  return { ...splits, train: part(splits.train, kept), validation: part(splits.train, held) };
}

function part(s: Samples, indices: Int32Array): Samples {
  if (inMemory(s)) return subset(s, indices);
  const reader: SampleReader = {
    size: indices.length,
    featureShape: s.featureShape,
    classes: s.classes,
    ...(s.labels ? { labels: s.labels } : {}),
    read: async (at) => s.read(Int32Array.from(at, (i) => {
      if (i < 0 || i >= indices.length || !Number.isInteger(i)) throw new RangeError(`sample index ${i} outside [0, ${indices.length})`);
      return indices[i];
    })),
  };
  return reader;
}
