import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { DataSplits } from '../../data/dataset.js';
import type { SupervisedJob } from './spec.js';
import { buildModel } from '../../tensor/models/zoo.js';

/** The job's model for its data: the same on every process that builds it. */
export function buildJobModel(spec: SupervisedJob, data: DataSplits): Promise<LayersModel> {
  return buildModel(spec.model, { inputShape: data.train.featureShape, classes: data.train.classes }, spec.seed);
}
