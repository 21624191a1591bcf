/**
 * `dtrain attack --model DIR --epsilon E`: the test accuracy of any saved
 * dtrain model under FGSM and/or PGD-k at ε, with the test set spread over
 * N local worker processes, and the gallery of the first test images.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { runAttack } from '../jobs/adversarial/attack-session.js';
import { JOB_FILE } from '../coordinator/session.js';
import type { AttackKind } from '../jobs/adversarial/spec.js';
import { initBackend } from '../tensor/backend.js';
import type { DataSplits } from '../data/dataset.js';
import { openData } from '../data/load.js';
import { DtrainError, JobSpecError, UsageError } from '../util/errors.js';
import type { DataSpec } from '../spec/job-spec.js';
import type { AdversarialJob } from '../jobs/adversarial/spec.js';
import { attackSummary } from '../jobs/adversarial/summary.js';
import { loadJobFile, parseJobSpec } from '../jobs/registry.js';
import { buildJobModel } from '../jobs/supervised/model.js';
import { findModelDir, loadSavedInto } from '../tensor/models/save.js';
import { openJobOutput, type OutputFlags } from './job-output.js';
import { requireLocalBackend, runWithLocalWorkers } from './run.js';

export interface AttackFlags extends OutputFlags {
  model: string;
  data?: string;
  attack: AttackKind | 'both';
  epsilon: number;
  steps: number;
  stepSize?: number;
  workers: number;
  backend: 'auto' | 'cpu' | 'wasm' | 'tensorflow';
  limit?: number;
  seed?: number;
}

export async function attackCommand(flags: AttackFlags): Promise<number> {
  const modelDir = classifierDir(flags.model);
  const runDir = modelDir === join(flags.model, 'model') ? flags.model : dirname(modelDir);
  const { data: dataSpec, seed } = dataOf(flags, runDir);
  const topology = (JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { modelTopology?: Record<string, unknown> }).modelTopology;
  if (!topology) throw new UsageError(`${join(modelDir, 'model.json')} has no modelTopology: not a tfjs LayersModel`);
  const evalAttacks: AttackKind[] = flags.attack === 'both' ? ['fgsm', 'pgd'] : [flags.attack];
  const spec = parseJobSpec(
    {
      name: `attack-${basename(resolve(runDir)).replace(/[^A-Za-z0-9._-]/g, '_')}`,
      type: 'adversarial',
      seed,
      data: dataSpec,
      model: { topology },
      train: { batchSize: flags.workers }, // unused: nothing trains
      adversarial: { epsilon: flags.epsilon, evalSteps: flags.steps, evalAttacks, ...(flags.stepSize === undefined ? {} : { evalStepSize: flags.stepSize }) },
      cluster: { workers: flags.workers, backend: flags.backend },
    },
    'dtrain attack',
  ) as AdversarialJob;
  await requireLocalBackend(spec);
  await initBackend('cpu');
  const data = await openData(spec.data, spec.seed);
  const model = await loadSaved(modelDir, spec, data);
  const tag = evalAttacks.map((k) => (k === 'pgd' ? `pgd${flags.steps}` : k)).join('-');
  const output = openJobOutput(spec, { ...flags, out: flags.out ?? join(runDir, `attack-${tag}-eps${flags.epsilon}`) });
  output.progress.note(`${spec.name}: the model in ${modelDir}, ${data.test.size} test samples, ${flags.workers} worker(s), output in ${output.outDir}`);
  const summary = await runWithLocalWorkers(spec, output, (ctx) => runAttack(ctx, spec, model, data));
  if (!flags.json) process.stderr.write(attackSummary(summary, output.outDir));
  return 0;
}

/** DIR may be a run's folder (holding model/) or a model folder itself. */
export function classifierDir(dir: string): string {
  const found = findModelDir(dir, 'model');
  if (found) return found;
  throw new UsageError(`no model in ${dir}: expected ${join(dir, 'model', 'model.json')} (the output folder of a supervised or adversarial job) or ${join(dir, 'model.json')}`);
}

/**
 * The test data and seed: --data (fashion-mnist, a folder of Fashion-MNIST
 * IDX files, or a job file whose data section and seed are used), else
 * the run's job.json; --seed and --limit override.
 */
function dataOf(flags: AttackFlags, runDir: string): { data: DataSpec; seed: number } {
  let found: { data: DataSpec; seed: number };
  const d = flags.data;
  if (d === undefined) {
    const file = join(runDir, JOB_FILE);
    if (!existsSync(file)) throw new UsageError(`--data is needed: ${runDir} has no ${JOB_FILE} to say what the model was trained on (give fashion-mnist, a folder of IDX files, or a job file)`);
    found = parseJobSpec(JSON.parse(readFileSync(file, 'utf8')), file);
  } else if (d === 'fashion-mnist') found = { data: { source: 'fashion-mnist' } as DataSpec, seed: 0 };
  else if (existsSync(d) && statSync(d).isDirectory()) found = { data: { source: 'fashion-mnist', path: d } as DataSpec, seed: 0 };
  else if (existsSync(d)) found = loadJobFile(d);
  else throw new UsageError(`--data ${d}: not fashion-mnist, a folder or a job file`);
  const data = { ...found.data };
  if (flags.limit !== undefined) {
    if (data.source !== 'fashion-mnist') throw new UsageError(`--limit applies to fashion-mnist data; this is ${data.source} data`);
    data.testLimit = flags.limit;
  }
  return { data, seed: flags.seed ?? found.seed };
}

/** The saved model, rebuilt from its topology as the workers build it (which checks it fits the data), holding the saved values. */
async function loadSaved(modelDir: string, spec: AdversarialJob, data: DataSplits): Promise<tfl.LayersModel> {
  let model: tfl.LayersModel;
  try {
    model = await buildJobModel(spec, data);
  } catch (err) {
    if (err instanceof JobSpecError) throw new UsageError(`the model in ${modelDir} does not fit the data: ${err.issues.map((i) => i.message).join('; ')}`);
    throw err;
  }
  if (!(await loadSavedInto(modelDir, model))) throw new DtrainError(`${modelDir}: the saved weights do not match the model's topology`);
  return model;
}
