/** `dtrain run job.yaml --workers N`: an embedded coordinator and N local worker processes. */
import { reapWorkers, spawnWorkers, type LocalWorker } from '../coordinator/local-workers.js';
import { label } from '../coordinator/membership.js';
import { runSession, STOP_GRACE_MS, type Session, type SessionOptions, type Summary } from '../coordinator/session.js';
import { join, resolve } from 'node:path';
import { CHECKPOINTS, latestCheckpoint, readCheckpoint, type LoadedCheckpoint } from '../coordinator/checkpoints.js';
import { readFileSync } from 'node:fs';
import { BackendError, JobCancelledError, UsageError, WorkerLostError } from '../util/errors.js';
import { installedNodeBackend, TENSORFLOW_MISSING } from '../tensor/backend.js';
import { jobTypeOf, loadJobFile, parseJobSpec } from '../jobs/registry.js';
import type { Overrides } from '../spec/job-file.js';
import { psSettings, type JobSpec } from '../spec/job-spec.js';
import { cancelOnSignals, openJobOutput, type JobOutput, type OutputFlags } from './job-output.js';
import { printSummary } from './summary-line.js';

export interface RunFlags extends Overrides, OutputFlags {
  /** A run's folder: continue it from its latest checkpoint. */
  resume?: string;
}

export async function runCommand(jobFile: string | undefined, flags: RunFlags): Promise<number> {
  const { spec, resume } = jobOf(jobFile, flags);
  await requireLocalBackend(spec);
  const output = openJobOutput(spec, { ...flags, out: flags.resume ?? flags.out }, resume !== undefined);
  if (resume) output.progress.note(`resuming from ${resume.dir} (step ${resume.step})`);
  const ps = psSettings(spec.cluster);
  const strategy = ps ? `ps (${ps.shards} shard(s), ${ps.staleness === undefined ? 'synchronous' : `staleness ${ps.staleness}`})` : spec.cluster.strategy;
  output.progress.note(`${spec.name}: ${spec.cluster.workers} worker(s), strategy ${strategy}, backend ${spec.cluster.backend}, output in ${output.outDir}`);
  const type = jobTypeOf(spec);
  printSummary(await runRestarting(spec, output, type.run, resume), output.outDir, flags.json, type);
  return 0;
}

/** Fills in `r.seconds` at the restarted run's first step. */
function timeToFirstStep(output: JobOutput, r: Recovery | undefined): void {
  if (!r) return;
  const lostAt = performance.now();
  output.progress.listener = (e) => {
    if (e.kind !== 'step') return;
    r.seconds = Math.round(performance.now() - lostAt) / 1000;
    output.progress.listener = undefined;
  };
}

/** A lost worker or shard, and how the run went on: summary.json's `recoveries`. */
export interface Recovery {
  /** Steps done when it was lost. */
  step: number;
  lost: string;
  action: string;
  /** From the loss to the restarted run's first step. */
  seconds: number;
}

/**
 * Runs the job; when a worker or ps shard is lost, runs it again with fresh
 * processes from its latest checkpoint (the same computation: see
 * Failures and recovery), at most cluster.maxRestarts times.
 */
async function runRestarting(spec: JobSpec, output: JobOutput, job: SessionOptions['job'], resume: LoadedCheckpoint | undefined): Promise<Summary> {
  const recoveries: Recovery[] = [];
  // Ctrl-C is the person's word: a member lost meanwhile (a stuck worker, the reason they pressed it) starts nothing again.
  const interrupted: { err?: JobCancelledError } = {};
  for (;;) {
    timeToFirstStep(output, recoveries.at(-1));
    try {
      return await runWithLocalWorkers(spec, output, job, resume, { recoveries }, interrupted);
    } catch (err) {
      if (interrupted.err || !(err instanceof WorkerLostError) || recoveries.length >= spec.cluster.maxRestarts) throw err;
      const from = latestCheckpoint(output.outDir);
      const step = (JSON.parse(readFileSync(join(output.outDir, 'summary.json'), 'utf8')) as { steps: number }).steps;
      resume = from ? readCheckpoint(from) : undefined;
      const action = resume ? `restarted from checkpoint step ${resume.step}` : 'restarted from the start (no checkpoint yet)';
      recoveries.push({ step, lost: err.member, action, seconds: NaN });
      output.log.warn({ lost: err.member, step, action, restart: recoveries.length, of: spec.cluster.maxRestarts }, 'member lost: restarting');
      output.progress.note(`${err.member} lost at step ${step}: ${action} (${recoveries.length}/${spec.cluster.maxRestarts})`);
    }
  }
}

/** The job file's job, or the job of the run being resumed with its latest checkpoint. */
function jobOf(jobFile: string | undefined, flags: RunFlags): { spec: JobSpec; resume?: LoadedCheckpoint } {
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

/** The workers run here: a backend that is not installed is known before anything starts (even the output folder). */
export async function requireLocalBackend(spec: JobSpec): Promise<void> {
  if (spec.cluster.backend === 'tensorflow' && !(await installedNodeBackend())) throw new BackendError(TENSORFLOW_MISSING);
}

/**
 * Runs a session on this machine: an embedded coordinator, cluster.workers
 * worker processes and, for strategy ps, the shard processes; they are
 * reaped however the session ends. `job` is the job type's coordinator side, or dtrain attack's evaluation.
 */
export async function runWithLocalWorkers(
  spec: JobSpec,
  output: JobOutput,
  job: SessionOptions['job'],
  resume?: LoadedCheckpoint,
  summaryExtras?: Record<string, unknown>,
  interrupted: { err?: JobCancelledError } = {},
): Promise<Summary> {
  const { outDir, logFile, log, progress } = output;
  let workers: LocalWorker[] = [];
  let session: Session | undefined;
  const removeHandlers = cancelOnSignals(() => session, interrupted);
  const ps = psSettings(spec.cluster);
  try {
    return await runSession({
      spec,
      bind: 'tcp://127.0.0.1:*',
      outDir,
      log,
      progress,
      job,
      ...(resume ? { resume } : {}),
      ...(summaryExtras ? { summaryExtras } : {}),
      onBound: (endpoint, s) => {
        session = s;
        if (interrupted.err) s.interrupt(interrupted.err); // Ctrl-C before the session existed
        const start = (role: 'worker' | 'ps', count: number) =>
          spawnWorkers({
            role,
            count,
            connect: endpoint,
            logFile,
            onLost: (err) => s.fail(err),
            describe: (pid, index) => {
              const w = s.membership.byPid(pid);
              return w ? label(w) : `${role === 'ps' ? 'ps shard' : 'worker'} (spawned ${index}, pid ${pid}, before joining)`;
            },
          });
        workers = [...start('ps', ps?.shards ?? 0), ...start('worker', spec.cluster.workers)];
      },
    });
  } finally {
    removeHandlers();
    await reapWorkers(workers, STOP_GRACE_MS);
  }
}
