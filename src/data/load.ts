import type { DataSpec } from '../spec/job-spec.js';
import { head, type DataSplits, type InMemorySplits, type Labels } from './dataset.js';
import { loadFashionMnist } from './idx.js';
import { loadCsv } from './sources/csv.js';
import { loadImages } from './sources/images.js';
import { openModuleData } from './sources/module.js';
import { loadNpy } from './sources/npy.js';
import { makeSynthetic } from './synthetic.js';
import { withValidation } from './validation.js';

/**
 * Loads a job's data into memory: every source but `module`. Every process
 * calls it and gets the same samples.
 */
export function loadData(spec: DataSpec, seed: number, labels: Labels = 'classes'): InMemorySplits {
  const splits = loadSplits(spec, seed, labels);
  return spec.validation === undefined ? splits : withValidation(splits, spec.validation, seed);
}

function loadSplits(spec: DataSpec, seed: number, labels: Labels): InMemorySplits {
  switch (spec.source) {
    case 'synthetic':
      return makeSynthetic(spec, seed);
    case 'csv':
      return loadCsv(spec, seed, labels);
    case 'npy':
      return loadNpy(spec, seed, labels);
    case 'images':
      return loadImages(spec, seed);
    case 'module':
      throw new Error('a data module is opened with openData, not loaded');
    case 'fashion-mnist': {
      const all = loadFashionMnist(spec.path);
      return { train: head(all.train, spec.limit), test: head(all.test, spec.testLimit) };
    }
  }
}

/**
 * A job's data, whatever its source: in memory, at once; or (a data module,
 * which must be imported) a promise of its readers.
 */
export function openData(spec: DataSpec, seed: number, labels: Labels = 'classes'): DataSplits | Promise<DataSplits> {
  if (spec.source === 'module') return openModuleData(spec, seed, labels).then((d) => (spec.validation === undefined ? d : withValidation(d, spec.validation, seed)));
  return loadData(spec, seed, labels);
}
