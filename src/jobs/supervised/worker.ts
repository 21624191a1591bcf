/** The worker's side of a job that trains one classifier: its data, its model, its step program. */
import type { DataSplits } from '../../data/dataset.js';
import { loadData } from '../../data/load.js';
import type { WorkerJob } from '../job-type.js';
import { buildJobModel } from './model.js';
import { SupervisedProgram, type PassMaker } from './program.js';
import type { SupervisedJob } from './spec.js';

/** `passMaker` gives a job type built on this one its say in each step and evaluation (adversarial jobs: the attack). */
export async function buildClassifierWorker(spec: SupervisedJob, passMaker?: (data: DataSplits) => PassMaker): Promise<WorkerJob> {
  const data = loadData(spec.data, spec.seed);
  const model = await buildJobModel(spec, data);
  return {
    models: [model],
    rule: { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm },
    program: (deps) => new SupervisedProgram({ ...deps, spec, model, data, passMaker: passMaker?.(data) }),
  };
}
