/** The worker's side of a job that trains one classifier: its data, its model, its step program. */
import type { DataSplits } from '../../data/dataset.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { openData } from '../../data/load.js';
import { labelsOf, objectiveOf, type Objective, type UserLoss } from '../../tensor/objective.js';
import { dtrainTf } from '../../tensor/models/user-model.js';
import { importFunction } from '../../util/user-module.js';
import { thenOrNow } from '../../util/then-or-now.js';
import type { WorkerJob } from '../job-type.js';
import { buildJobModel } from './model.js';
import { SupervisedProgram, type PassMaker } from './program.js';
import type { SupervisedJob } from './spec.js';

/** `passMaker` gives a job type built on this one its say in each step and evaluation (adversarial jobs: the attack). */
export function buildClassifierWorker(spec: SupervisedJob, passMaker?: (data: DataSplits) => PassMaker): Promise<WorkerJob> {
  // In-memory data: the model is built in this synchronous stretch (weight counts hook its layers' weights).
  return thenOrNow(openData(spec.data, spec.seed, labelsOf(spec.train.loss)), async (data) => {
    const model = await buildJobModel(spec, data);
    return classifierWorker(spec, data, model, await objectiveFor(spec, data), passMaker);
  });
}

function classifierWorker(spec: SupervisedJob, data: DataSplits, model: LayersModel, objective: Objective, passMaker?: (data: DataSplits) => PassMaker): WorkerJob {
  return {
    models: [model],
    rule: { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm, skipNonFinite: spec.train.onNonFinite === 'skip-step' },
    program: (deps) => new SupervisedProgram({ ...deps, spec, model, data, objective, passMaker: passMaker?.(data) }),
  };
}

/** The job's train.loss; `module`: the model module's `loss` export. */
async function objectiveFor(spec: SupervisedJob, data: DataSplits): Promise<Objective> {
  if (spec.train.loss !== 'module' || !('module' in spec.model)) return objectiveOf(spec.train.loss, data.train.classes);
  return objectiveOf('module', data.train.classes, { fn: (await importFunction(spec.model.module, 'loss', 'train.loss')) as UserLoss, tf: dtrainTf });
}
