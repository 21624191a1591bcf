/** The job a run or coordinator command runs: a job file's, or that of the run being resumed. */
import { join, resolve } from 'node:path';
import { CHECKPOINTS, loadLatestCheckpoint, type LoadedCheckpoint } from '../coordinator/checkpoints.js';
import { loadJobFile, parseJobSpec } from '../jobs/registry.js';
import type { Overrides } from '../spec/job-file.js';
import type { JobSpec } from '../spec/job-spec.js';
import { UsageError } from '../util/errors.js';

export interface ResumeFlags extends Overrides {
  /** A run's folder: continue it from its latest checkpoint. */
  resume?: string;
  out?: string;
}

/** The job file's job, or the job of the run being resumed with its latest checkpoint. */
export function jobToRun(jobFile: string | undefined, flags: ResumeFlags): { spec: JobSpec; resume?: LoadedCheckpoint } {
  if (flags.resume === undefined) {
    if (jobFile === undefined) throw new UsageError('give a job file, or --resume DIR to continue a run');
    return { spec: loadJobFile(jobFile, flags) };
  }
  if (jobFile !== undefined) throw new UsageError('--resume DIR continues the job in DIR: give no job file with it');
  if (flags.out !== undefined && resolve(flags.out) !== resolve(flags.resume)) throw new UsageError('--resume DIR writes to DIR: --out cannot name another folder');
  const { checkpoint: resume, skipped } = loadLatestCheckpoint(flags.resume);
  for (const s of skipped) process.stderr.write(`dtrain: passed over ${s.dir}: ${s.why}\n`);
  if (!resume) {
    if (skipped.length > 0) throw new UsageError(`no checkpoint in ${join(flags.resume, CHECKPOINTS)} reads back whole: nothing to resume from`);
    throw new UsageError(`no checkpoint to resume from in ${join(flags.resume, CHECKPOINTS)} (is ${flags.resume} a run's output folder?)`);
  }
  return { spec: parseJobSpec(resume.job, join(resume.dir, 'job.json'), flags), resume };
}
