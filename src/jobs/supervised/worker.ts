/** The worker's side of a job that trains one classifier: its data, its model, its step program. */
import type { DataSplits } from '../../data/dataset.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { openData } from '../../data/load.js';
import { thenOrNow } from '../../util/then-or-now.js';
import type { WorkerJob } from '../job-type.js';
import { buildJobModel } from './model.js';
import { SupervisedProgram, type PassMaker } from './program.js';
import type { SupervisedJob } from './spec.js';

/** `passMaker` gives a job type built on this one its say in each step and evaluation (adversarial jobs: the attack). */
export function buildClassifierWorker(spec: SupervisedJob, passMaker?: (data: DataSplits) => PassMaker): Promise<WorkerJob> {
  // In-memory data: the model is built in this synchronous stretch (weight counts hook its layers' weights).
  return thenOrNow(openData(spec.data, spec.seed), async (data) => classifierWorker(spec, data, await buildJobModel(spec, data), passMaker));
}

function classifierWorker(spec: SupervisedJob, data: DataSplits, model: LayersModel, passMaker?: (data: DataSplits) => PassMaker): WorkerJob {
  return {
    models: [model],
    rule: { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm, skipNonFinite: spec.train.onNonFinite === 'skip-step' },
    program: (deps) => new SupervisedProgram({ ...deps, spec, model, data, passMaker: passMaker?.(data) }),
  };
}
