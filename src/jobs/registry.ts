/**
 * The job types dtrain knows. Adding one adds a folder and one line here
 * (docs/job-types.md). Only entry points import this file: the CLI
 * commands, the worker's main loop and the service's intake (its checks and
 * caps) and runner;
 * they hand the job type's parts to the generic code.
 */
import { jobFileReader } from '../spec/job-file.js';
import type { JobSpec } from '../spec/job-spec.js';
import { JobSpecError } from '../util/errors.js';
import { adversarial } from './adversarial/index.js';
import { gan } from './gan/index.js';
import type { JobType } from './job-type.js';
import { seq2seq } from './seq2seq/index.js';
import { supervised } from './supervised/index.js';
import { vae } from './vae/index.js';
import { countWeights } from '../tensor/models/weight-count.js';
import { initBackend } from '../tensor/backend.js';
import { FRAME_SLACK } from '../wire/zmq-transport.js';

export const JOB_TYPES: readonly JobType[] = [supervised, adversarial, gan, vae, seq2seq];

/** The type of a job file that names none. */
export const DEFAULT_JOB_TYPE = supervised.name;

export const { loadJobFile, parseJobSpec } = jobFileReader(JOB_TYPES, DEFAULT_JOB_TYPE);

/** The registered type of a checked job. */
export function jobTypeOf(spec: Pick<JobSpec, 'type' | 'name'>): JobType {
  const t = JOB_TYPES.find((j) => j.name === spec.type);
  if (!t) throw new JobSpecError(`job ${spec.name}`, [{ path: 'type', message: `unknown job type ${JSON.stringify(spec.type)}` }]);
  return t;
}

/** How many weights a job's networks have (all of them: a GAN's two), counted without allocating them; 0 if unknown. */
export async function jobWeights(spec: JobSpec): Promise<number> {
  await initBackend('cpu'); // the coordinator's backend (the count's placeholders are tensors)
  return countWeights(
    () => jobTypeOf(spec).buildWorker(spec),
    (w) => w.models,
  );
}

/**
 * The largest frame a member may send the coordinator's control socket: a
 * `params` or `psState` answer's largest part is the optimizer slots, at
 * most 3 floats a weight (12 bytes). Undefined (no limit) when the weights
 * cannot be counted.
 */
export async function controlFrameLimit(spec: JobSpec): Promise<number | undefined> {
  const weights = await jobWeights(spec);
  return weights > 0 ? weights * 12 + FRAME_SLACK : undefined;
}
