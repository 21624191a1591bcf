/**
 * dtrain as a library: `import { run, loadModel } from 'dtrain'`.
 *
 *   const summary = await run('job.yaml', { workers: 2, onProgress: (e) => console.log(e) });
 *   const model = await loadModel(`${summary.outDir}/model`);
 *
 * run() does what `dtrain run` does (local worker processes, checkpoints,
 * recovery), without printing: progress goes to `onProgress`, the log to
 * OUT/log.jsonl, and the summary is the returned value.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tfl from '@tensorflow/tfjs-layers';
import { runRecovering } from './coordinator/recovery.js';
import type { ProgressEvent } from './coordinator/progress.js';
import type { Summary } from './coordinator/session.js';
import { openJobOutput } from './commands/job-output.js';
import { requireLocalBackend, runWithLocalWorkers } from './commands/run.js';
import { jobTypeOf, loadJobFile, parseJobSpec } from './jobs/registry.js';
import type { Overrides } from './spec/job-file.js';
import { initBackend } from './tensor/backend.js';
import { fileLoadHandler } from './tensor/models/save.js';
import { JobCancelledError } from './util/errors.js';
import type { LogLevel } from './util/log.js';
import { generateKey } from './wire/cluster-key.js';

export type { ProgressEvent, Summary };
export { DtrainError, JobSpecError, JobCancelledError, DataError, WorkerLostError } from './util/errors.js';

export interface RunOptions {
  /** Worker processes (overrides cluster.workers). */
  workers?: number;
  /** `key.path=value` overrides, as `dtrain run --set`. */
  set?: string[];
  /** The output folder (default runs/<job name>). */
  out?: string;
  /** Replace an earlier run in the output folder (without it, an earlier run there is an error). */
  overwrite?: boolean;
  /** A job object's relative paths (data files, model module) are relative to this folder (default: the current one). */
  baseDir?: string;
  /** Hears every step, count and note. */
  onProgress?: (e: ProgressEvent) => void;
  /** Aborting it cancels the job at the next step boundary, after a checkpoint; run() then rejects with JobCancelledError. */
  signal?: AbortSignal;
  /** The local processes talk without a cluster key (by default each run makes a fresh one, in memory). */
  insecure?: boolean;
  /** The least level written to OUT/log.jsonl, by the run and its workers (default info). */
  logLevel?: LogLevel;
}

/** The summary, with the folder the run wrote. */
export type RunResult = Summary & { outDir: string };

/** Runs a job (a job file's path, or the job as an object) on local worker processes; resolves to its summary. */
export async function run(job: string | Record<string, unknown>, options: RunOptions = {}): Promise<RunResult> {
  const overrides: Overrides = { set: options.set, workers: options.workers };
  const spec = typeof job === 'string' ? loadJobFile(job, overrides) : parseJobSpec(job, 'the job object', overrides, options.baseDir ?? process.cwd());
  await requireLocalBackend(spec);
  if (options.signal?.aborted) throw new JobCancelledError('aborted before it started');
  const output = openJobOutput(spec, { out: options.out, overwrite: options.overwrite, progress: false, ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  if (options.onProgress) output.progress.listen(options.onProgress);
  const interrupted: { err?: JobCancelledError } = {};
  const key = options.insecure ? undefined : generateKey();
  const summary = await runRecovering(spec, output, (a) => runWithLocalWorkers(spec, output, jobTypeOf(spec).run, a, interrupted, key, options.signal), undefined, interrupted);
  return { ...summary, outDir: output.outDir };
}

/**
 * The model a run saved (OUT/model, or a GAN's OUT/generator), as a
 * tf.LayersModel of dtrain's tfjs on its cpu backend: no tfjs-node needed.
 * With your own tfjs, load it yourself: `tf.loadLayersModel(modelFiles(dir))`.
 */
export async function loadModel(dir: string): Promise<LayersModel> {
  await initBackend('cpu');
  return tfl.loadLayersModel(fileLoadHandler(dir));
}

/** An IOHandler reading a saved model's model.json and weights.bin from disk, for any copy of tfjs's loadLayersModel. */
export const modelFiles = fileLoadHandler;
