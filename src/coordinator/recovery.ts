/**
 * Keeping a job's work (`run`, `coordinator`, service mode): the loop that
 * starts a session again from the latest checkpoint when a worker or ps
 * shard is lost, or when workers wait to join (docs/design.md, Failure).
 */
import { CheckpointError, RegroupError, WorkerLostError } from '../util/errors.js';
import { loadLatestCheckpoint, type LoadedCheckpoint } from './checkpoints.js';
import type { SessionOptions, Summary } from './session.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { JobObserver } from '../observe/observer.js';
import type { Logger } from '../util/log.js';
import type { Progress } from './progress.js';

/** Where the job writes: its folder, log and progress. */
export interface JobOutputs {
  outDir: string;
  log: Logger;
  progress: Progress;
  /** Hears each recovery (Prometheus: dtrain_recoveries_total). */
  observer?: JobObserver;
}

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

/** The session options an attempt sets: its job, where it starts, what summary.json adds, and whether another follows. */
export function attemptOptions(a: Attempt): Pick<SessionOptions, 'spec' | 'resume' | 'summaryExtras' | 'goesOn' | 'onSummary'> {
  return { spec: a.spec, ...(a.resume ? { resume: a.resume } : {}), summaryExtras: a.summaryExtras, goesOn: a.goesOn, onSummary: a.onSummary };
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
  output: JobOutputs,
  session: (a: Attempt) => Promise<Summary>,
  resume: LoadedCheckpoint | undefined,
  interrupted: { err?: Error },
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
      resume = readableCheckpoint(output);
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
        output.observer?.recovery?.();
        output.log.warn({ lost: member, step: steps, action, restart: recoveries.length, of: spec.cluster.maxRestarts }, 'member lost: restarting');
        output.progress.note(`${member} lost at step ${steps}: ${action} (${recoveries.length}/${spec.cluster.maxRestarts})`);
      }
      workers = next;
    }
  }
}

/** Fills in `r.seconds` at the restarted session's first step. */
function timeToFirstStep(output: JobOutputs, r: Recovery | undefined): void {
  if (!r) return;
  const lostAt = performance.now();
  const stop = output.progress.listen((e) => {
    if (e.kind !== 'step') return;
    r.seconds = Math.round(performance.now() - lostAt) / 1000;
    stop();
  });
}


/**
 * The newest checkpoint that reads back whole, saying which were passed
 * over and why; none when the run has none yet. Throws when it has some and
 * none reads back: starting again from step 0 would lose work unannounced.
 */
export function readableCheckpoint(output: JobOutputs): LoadedCheckpoint | undefined {
  const { checkpoint, skipped } = loadLatestCheckpoint(output.outDir);
  for (const s of skipped) {
    output.log.warn({ checkpoint: s.dir, why: s.why }, 'passed over a checkpoint that does not read back');
    output.progress.note(`passed over ${s.dir}: ${s.why}`);
  }
  if (!checkpoint && skipped.length > 0) throw new CheckpointError(`no checkpoint in ${output.outDir} reads back: ${skipped.map((s) => s.why).join('; ')}`);
  return checkpoint;
}
