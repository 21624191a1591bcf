/**
 * The data as a VAE trains on it: as loaded (images are already in [0, 1]),
 * checked to lie in [0, 1], since the decoder's Bernoulli likelihood reads
 * every value as a probability. In-memory splits are checked when loaded;
 * a data module's samples as they are read. Every process calls it and gets
 * the same samples.
 */
import { inMemory, mapReads, type Dataset, type DataSplits, type Samples } from '../../data/dataset.js';
import { openData } from '../../data/load.js';
import { DataError } from '../../util/errors.js';
import type { VaeJob } from './spec.js';

export function loadVaeData(spec: VaeJob): Promise<DataSplits> | DataSplits {
  const data = openData(spec.data, spec.seed);
  const checked = (d: DataSplits): DataSplits => ({ train: inUnitRange(d.train, 'training', spec), test: inUnitRange(d.test, 'test', spec) });
  return data instanceof Promise ? data.then(checked) : checked(data);
}

function outOfRange(value: number, where: string, spec: VaeJob): DataError {
  return new DataError(`data (source ${spec.data.source}): ${where} holds the value ${value}; a vae job reads every value as a Bernoulli probability, so the data must lie in [0, 1]`);
}

function inUnitRange(s: Samples, split: string, spec: VaeJob): Samples {
  if (inMemory(s)) {
    checkDataset(s, split, spec);
    return s;
  }
  return mapReads(s, (b, indices) => {
    const bad = b.x.findIndex((v) => !(v >= 0 && v <= 1));
    if (bad >= 0) throw outOfRange(b.x[bad], `the ${split} sample ${indices[Math.floor(bad / (b.x.length / indices.length))]}`, spec);
    return b;
  });
}

/** Stored bytes scaled by at most 1/255 without a shift are in range by construction (Fashion-MNIST, images); other data is scanned. */
function checkDataset(ds: Dataset, split: string, spec: VaeJob): void {
  const shift = ds.shift ?? 0;
  if (ds.x instanceof Uint8Array && shift === 0 && ds.scale >= 0 && 255 * ds.scale <= 1) return;
  const f = ds.size > 0 ? ds.x.length / ds.size : 1;
  for (let i = 0; i < ds.x.length; i++) {
    const v = ds.x[i] * ds.scale + shift;
    if (!(v >= 0 && v <= 1)) throw outOfRange(v, `the ${split} sample ${Math.floor(i / f)}`, spec);
  }
}
