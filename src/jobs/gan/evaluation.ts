/**
 * Scoring a trained generator on the coordinator:
 *   - 2-D mixtures (ring8, grid25): modes covered and the fraction of
 *     high-quality samples;
 *   - images, when the job names a classifier: the classifier's score of
 *     generated samples beside its score of as many real test images.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { classifierScore, type ClassifierScore } from '../../tensor/classifier-score.js';
import { readSamples, type DataSplits } from '../../data/dataset.js';
import { DEFAULT_MIXTURE_NOISE, modeCoverage, type ModeCoverage } from '../../data/mixtures.js';
import { JobSpecError } from '../../util/errors.js';
import { EVAL_PHASE, generate } from './samples.js';
import type { GanJob } from './spec.js';
import { fileLoadHandler } from '../../tensor/models/save.js';
import { fitsShape } from '../../tensor/models/shape.js';

export interface ImageScore {
  /** The classifier's folder. */
  classifier: string;
  generated: ClassifierScore;
  real: ClassifierScore;
}

export interface GanEvaluation extends Partial<ModeCoverage> {
  score?: ImageScore;
}

/** Loads the job's classifier (a folder holding model.json, or the file) and checks that it fits the data. */
export async function loadClassifier(path: string, data: DataSplits): Promise<tfl.LayersModel> {
  const dir = path.endsWith('.json') ? join(path, '..') : path;
  const bad = (message: string) => new JobSpecError('job', [{ path: 'gan.classifier', message }]);
  if (!existsSync(join(dir, 'model.json'))) throw bad(`no model.json in ${dir} (train one first, e.g. dtrain run configs/fashion-mnist-cnn.yaml, and name its DIR/model)`);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(fileLoadHandler(dir));
  } catch (err) {
    throw bad(`cannot load ${dir}: ${(err as Error).message}`);
  }
  const input = model.inputs[0].shape.slice(1);
  const output = model.outputs[0].shape.slice(1);
  const shape = data.train.featureShape;
  if (!fitsShape(input, shape)) throw bad(`${dir} takes inputs of shape [${input}], the data's samples are [${shape}]`);
  if (output.length !== 1 || output[0] !== data.train.classes) throw bad(`${dir} outputs [${output}], not the data's ${data.train.classes} classes`);
  return model;
}

/** The evaluation of summary.json's `gan` section (empty for data with no measure). */
export async function evaluateGan(spec: GanJob, generator: tfl.LayersModel, data: DataSplits, classifier: tfl.LayersModel | undefined): Promise<GanEvaluation> {
  const n = spec.gan.evalSamples;
  if (spec.data.source === 'synthetic' && (spec.data.kind === 'ring8' || spec.data.kind === 'grid25')) {
    const points = generate(generator, spec.seed, EVAL_PHASE, n);
    return modeCoverage(spec.data.kind, spec.data.noise ?? DEFAULT_MIXTURE_NOISE[spec.data.kind], points);
  }
  if (!classifier || !spec.gan.classifier) return {};
  const shape = data.test.featureShape;
  const m = Math.min(n, data.test.size);
  // GAN jobs see images in [−1, 1]; the classifier was trained on [0, 1].
  const toUnit = (x: Float32Array) => x.map((v) => (v + 1) / 2);
  const generated = classifierScore(classifier, toUnit(generate(generator, spec.seed, EVAL_PHASE, n)), n, shape);
  const real = classifierScore(classifier, toUnit((await readSamples(data.test, Int32Array.from({ length: m }, (_, i) => i))).x), m, shape);
  return { score: { classifier: spec.gan.classifier, generated, real } };
}
