/**
 * What `run` and `coordinator` share to keep a job's work: the job of a run
 * being resumed, and the loop that starts a session again from the latest
 * checkpoint when a worker or ps shard is lost (docs/design.md, Failure).
 */
import { join, resolve } from 'node:path';
import { CHECKPOINTS, latestCheckpoint, readCheckpoint, type LoadedCheckpoint } from '../coordinator/checkpoints.js';
import type { Summary } from '../coordinator/session.js';
import { loadJobFile, parseJobSpec } from '../jobs/registry.js';
import type { Overrides } from '../spec/job-file.js';
import type { JobSpec } from '../spec/job-spec.js';
import { type JobCancelledError, RegroupError, UsageError, WorkerLostError } from '../util/errors.js';
import type { JobOutput } from './job-output.js';

/** A lost worker or shard, and how the job went on: summary.json's `recoveries`. */
export interface Recovery {
  /** Steps done when it was lost. */
  step: number;
  lost: string;
  action: string;
  /** From the loss to the restarted session's first step. */
  seconds: number;
}

/** The job going on with another number of workers (a lost one not replaced, or waiting ones taken in): summary.json's `regroups`. */
export interface Regroup {
  /** The step the new session starts from. */
  step: number;
  from: number;
  to: number;
}

/** One session of the job, as `runRecovering` starts it. */
export interface Attempt {
  /** The job for this session: the given one, with this session's worker count. */
  spec: JobSpec;
  /** The checkpoint to start from (none: the start, or the resumed run's). */
  resume: LoadedCheckpoint | undefined;
  /** For summary.json: the recoveries and regroups so far. */
  summaryExtras: { recoveries: Recovery[]; regroups: Regroup[] };
  /** Whether a session ending with `err` is followed by another. */
  goesOn: (err: unknown) => boolean;
  /** Hears the session's summary (how many steps it had done when it ended). */
  onSummary: (s: Summary) => void;
}

/**
 * How many workers the next session has, after one that ended with `err`
 * and had `current`: dtrain run's are always cluster.workers (fresh
 * processes); dtrain coordinator's are the workers left and waiting.
 */
export type NextWorkers = (err: unknown, current: number) => number;

/**
 * Runs the job; when a worker or ps shard is lost, runs it again from its
 * latest checkpoint (the same computation: see Failures and recovery), at
 * most cluster.maxRestarts times; when workers wait to join (RegroupError),
 * runs it again from the checkpoint just taken, with them. A Ctrl-C
 * (`interrupted`) starts nothing again.
 */
export async function runRecovering(
  spec: JobSpec,
  output: JobOutput,
  session: (a: Attempt) => Promise<Summary>,
  resume: LoadedCheckpoint | undefined,
  interrupted: { err?: JobCancelledError },
  nextWorkers: NextWorkers = () => spec.cluster.workers,
): Promise<Summary> {
  const recoveries: Recovery[] = [];
  const regroups: Regroup[] = [];
  const goesOn = (err: unknown) => !interrupted.err && ((err instanceof WorkerLostError && recoveries.length < spec.cluster.maxRestarts) || err instanceof RegroupError);
  let steps = 0;
  const onSummary = (s: Summary) => (steps = s.steps);
  let workers = spec.cluster.workers;
  for (;;) {
    timeToFirstStep(output, recoveries.at(-1));
    try {
      const sessionSpec = workers === spec.cluster.workers ? spec : { ...spec, cluster: { ...spec.cluster, workers } };
      return await session({ spec: sessionSpec, resume, summaryExtras: { recoveries, regroups }, goesOn, onSummary });
    } catch (err) {
      if (!goesOn(err)) throw err;
      const from = latestCheckpoint(output.outDir);
      resume = from ? readCheckpoint(from) : undefined;
      const next = nextWorkers(err, workers);
      const at = resume?.step ?? 0;
      if (next !== workers) regroups.push({ step: at, from: workers, to: next });
      const resized = next === workers ? '' : ` with ${next} worker(s)`;
      if (err instanceof RegroupError) {
        output.log.info({ step: at, from: workers, to: next }, 'workers waiting to join: going on with them');
        output.progress.note(`${err.message}: going on from checkpoint step ${at}${resized}`);
      } else {
        const member = (err as WorkerLostError).member;
        const action = `${resume ? `restarted from checkpoint step ${resume.step}` : 'restarted from the start (no checkpoint yet)'}${resized}`;
        recoveries.push({ step: steps, lost: member, action, seconds: NaN });
        output.log.warn({ lost: member, step: steps, action, restart: recoveries.length, of: spec.cluster.maxRestarts }, 'member lost: restarting');
        output.progress.note(`${member} lost at step ${steps}: ${action} (${recoveries.length}/${spec.cluster.maxRestarts})`);
      }
      workers = next;
    }
  }
}

/** Fills in `r.seconds` at the restarted session's first step. */
function timeToFirstStep(output: JobOutput, r: Recovery | undefined): void {
  if (!r) return;
  const lostAt = performance.now();
  output.progress.listener = (e) => {
    if (e.kind !== 'step') return;
    r.seconds = Math.round(performance.now() - lostAt) / 1000;
    output.progress.listener = undefined;
  };
}

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
  const dir = latestCheckpoint(flags.resume);
  if (!dir) throw new UsageError(`no checkpoint to resume from in ${join(flags.resume, CHECKPOINTS)} (is ${flags.resume} a run's output folder?)`);
  const resume = readCheckpoint(dir);
  return { spec: parseJobSpec(resume.job, join(dir, 'job.json'), flags), resume };
}
