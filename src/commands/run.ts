/** `dtrain run job.yaml --workers N`: an embedded coordinator and N local worker processes. */
import { reapWorkers, spawnWorkers, type LocalWorker } from '../coordinator/local-workers.js';
import { label } from '../coordinator/membership.js';
import { runSession, STOP_GRACE_MS, type Session, type SessionOptions, type Summary } from '../coordinator/session.js';
import { BackendError, JobCancelledError } from '../util/errors.js';
import { installedNodeBackend, TENSORFLOW_MISSING } from '../tensor/backend.js';
import { checkWebGPU } from '../tensor/webgpu/adapter.js';
import { controlFrameLimit, jobTypeOf } from '../jobs/registry.js';
import { psSettings, type JobSpec } from '../spec/job-spec.js';
import { cancelOnSignals, openJobOutput, type JobOutput, type OutputFlags } from './job-output.js';
import { printSummary } from './summary-line.js';
import { startWatchServers, type WatchFlags } from './watch-servers.js';
import { attemptOptions, runRecovering, type Attempt } from '../coordinator/recovery.js';
import { jobToRun, type ResumeFlags } from './job-to-run.js';
import { generateKey, keyEnv, type ClusterKey } from '../wire/cluster-key.js';
import { LOG_LEVEL_ENV } from '../util/log.js';

export interface RunFlags extends ResumeFlags, OutputFlags, WatchFlags {
  /** The local processes talk without a cluster key. */
  insecure?: boolean;
}

export async function runCommand(jobFile: string | undefined, flags: RunFlags): Promise<number> {
  const { spec, resume } = jobToRun(jobFile, flags);
  await requireLocalBackend(spec);
  const output = openJobOutput(spec, { ...flags, out: flags.resume ?? flags.out }, resume !== undefined);
  if (resume) output.progress.note(`resuming from ${resume.dir} (step ${resume.step})`);
  const ps = psSettings(spec.cluster);
  const strategy = ps ? `ps (${ps.shards} shard(s), ${ps.staleness === undefined ? 'synchronous' : `staleness ${ps.staleness}`})` : spec.cluster.strategy;
  output.progress.note(`${spec.name}: ${spec.cluster.workers} worker(s), strategy ${strategy}, backend ${spec.cluster.backend}, output in ${output.outDir}`);
  const type = jobTypeOf(spec);
  const interrupted: { err?: JobCancelledError } = {};
  // A fresh cluster key for this run's processes, in memory only: nothing else on the machine can join them.
  const key = flags.insecure ? undefined : generateKey();
  const watch = await startWatchServers(flags, spec, output);
  let summary;
  try {
    summary = await runRecovering(spec, output, (a) => runWithLocalWorkers(spec, output, type.run, a, interrupted, key), resume, interrupted);
    watch.finish();
  } catch (err) {
    watch.finish(err);
    throw err;
  } finally {
    await watch.close();
  }
  printSummary(summary, output.outDir, flags.json, type);
  return 0;
}

/** The workers run here: a backend that is not installed is known before anything starts (even the output folder). */
export async function requireLocalBackend(spec: JobSpec): Promise<void> {
  if (spec.cluster.backend === 'tensorflow' && !(await installedNodeBackend())) throw new BackendError(TENSORFLOW_MISSING);
  if (spec.cluster.backend === 'webgpu') await checkWebGPU(spec.cluster.gpus);
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
  attempt?: Attempt,
  interrupted: { err?: JobCancelledError } = {},
  key: ClusterKey | undefined = generateKey(),
  stop?: AbortSignal,
): Promise<Summary> {
  const { outDir, logFile, log, progress } = output;
  const maxFrame = await controlFrameLimit(spec);
  let workers: LocalWorker[] = [];
  let session: Session | undefined;
  const removeHandlers = cancelOnSignals(() => session, interrupted);
  // The library's AbortSignal cancels as Ctrl-C does: at a step boundary, after a checkpoint.
  const onAbort = () => {
    interrupted.err ??= new JobCancelledError('aborted by its AbortSignal');
    session?.interrupt(interrupted.err);
  };
  stop?.addEventListener('abort', onAbort);
  if (stop?.aborted) onAbort();
  const ps = psSettings(spec.cluster);
  try {
    return await runSession({
      spec,
      bind: 'tcp://127.0.0.1:*',
      outDir,
      log,
      progress,
      job,
      ...(key ? { key } : {}),
      ...(maxFrame ? { maxFrame } : {}),
      ...(output.observer ? { observer: output.observer } : {}),
      ...(output.metrics ? { metrics: output.metrics } : {}),
      ...(attempt ? attemptOptions(attempt) : {}),
      onBound: (endpoint, s) => {
        session = s;
        if (interrupted.err) s.interrupt(interrupted.err); // Ctrl-C before the session existed
        const start = (role: 'worker' | 'ps', count: number) =>
          spawnWorkers({
            role,
            count,
            connect: endpoint,
            // The session's key, and this run's log level: the processes' lines go into the same log.
            env: { ...(key ? keyEnv(key) : {}), [LOG_LEVEL_ENV]: log.level },
            logFile,
            ...(spec.cluster.gpus ? { gpus: spec.cluster.gpus } : {}),
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
    stop?.removeEventListener('abort', onAbort);
    await reapWorkers(workers, STOP_GRACE_MS);
  }
}
