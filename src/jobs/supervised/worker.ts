/** The worker's side of a job that trains one classifier: its data, its model, its step program. */
import type { DataSplits } from '../../data/dataset.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { openData } from '../../data/load.js';
import { labelsOf, objectiveOf, withMetrics, type Objective, type UserLoss, type UserMetric } from '../../tensor/objective.js';
import { JobSpecError } from '../../util/errors.js';
import { dtrainTf } from '../../tensor/models/user-model.js';
import { importExport, importFunction } from '../../util/user-module.js';
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

/** Names of the figures dtrain itself reports beside the metrics (metrics.jsonl, summary.json). */
const RESERVED_METRICS = ['step', 'epoch', 'lr', 'loss', 'accuracy', 'meanAbsoluteError', 'samplesPerSecond', 'computeMs', 'commMs', 'spreadMs'];

/** The job's train.loss (`module`: the model module's `loss` export), and the model module's `metrics` if it has any. */
async function objectiveFor(spec: SupervisedJob, data: DataSplits): Promise<Objective> {
  if (!('module' in spec.model)) return objectiveOf(spec.train.loss, data.train.classes);
  const path = spec.model.module;
  const user = spec.train.loss === 'module' ? { fn: (await importFunction(path, 'loss', 'train.loss')) as UserLoss, tf: dtrainTf } : undefined;
  const metrics = await importExport(path, 'metrics', 'model.module');
  if (metrics === undefined) return objectiveOf(spec.train.loss, data.train.classes, user);
  const valid = metrics !== null && typeof metrics === 'object' && Object.entries(metrics).every(([name, fn]) => /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && typeof fn === 'function');
  if (!valid) throw new JobSpecError(path, [{ path: 'model.module', message: 'its metrics export must be an object of functions named with letters, digits and _: {name: ({tf, outputs, labels}) => one value a sample}' }]);
  const taken = Object.keys(metrics as object).filter((name) => RESERVED_METRICS.includes(name));
  if (taken.length > 0) throw new JobSpecError(path, [{ path: 'model.module', message: `its metrics may not be named ${taken.join(', ')}: dtrain reports figures of those names itself` }]);
  return withMetrics(objectiveOf(spec.train.loss, data.train.classes, user), metrics as Record<string, UserMetric>, dtrainTf);
}
