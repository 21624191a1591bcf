/**
 * `dtrain coordinator job.yaml --bind tcp://HOST:PORT`: waits for cluster.workers workers (and the ps shards of strategy ps), then runs the job.
 * A member lost mid-job: the others are told to join again, and the job goes on from its latest checkpoint once the
 * workers are back to cluster.workers (a restarted process, a `--serve` worker's next one, or the same one after a link
 * cut). `--resume DIR`: a coordinator that was itself lost continues the job in DIR; its workers are waiting to rejoin.
 * With --nats instead of a job file: service mode (service.ts).
 */
import { label, type Membership } from '../coordinator/membership.js';
import { runSession, type Session } from '../coordinator/session.js';
import { type JobCancelledError, RegroupError, UsageError, WorkerLostError } from '../util/errors.js';
import { jobTypeOf } from '../jobs/registry.js';
import { jobToRun, runRecovering, type ResumeFlags } from './recovery.js';
import { psSettings, type ClusterSpec } from '../spec/job-spec.js';
import { cancelOnSignals, openJobOutput, type OutputFlags } from './job-output.js';
import { serviceCommand, type ServiceFlags } from './service.js';
import { printSummary } from './summary-line.js';

export interface CoordinatorFlags extends ResumeFlags, OutputFlags, Partial<ServiceFlags> {
  bind: string;
}

export async function coordinatorCommand(jobFile: string | undefined, flags: CoordinatorFlags): Promise<number> {
  if (!/^tcp:\/\/[^:]+:(\d+|\*)$/.test(flags.bind)) throw new UsageError(`--bind must look like tcp://HOST:PORT, got ${flags.bind}`);
  if (flags.nats !== undefined) {
    if (jobFile !== undefined || flags.resume !== undefined) throw new UsageError('service mode (--nats) takes its jobs from NATS: submit job files with dtrain submit, not as an argument (it resumes its own jobs on restart)');
    return serviceCommand({ ...flags, nats: flags.nats });
  }
  if (jobFile === undefined && flags.resume === undefined) throw new UsageError('give a job file, --resume DIR to continue a run, or --nats URL --state-dir DIR for service mode');
  for (const f of ['stateDir', 'token', 'creds'] as const) if (flags[f] !== undefined) throw new UsageError(`--${f === 'stateDir' ? 'state-dir' : f} belongs to service mode: add --nats URL`);
  const { spec, resume } = jobToRun(jobFile, flags);
  const type = jobTypeOf(spec);
  const output = openJobOutput(spec, { ...flags, out: flags.resume ?? flags.out }, resume !== undefined);
  const { outDir, progress } = output;
  if (resume) progress.note(`resuming from ${resume.dir} (step ${resume.step})`);
  let session: Session | undefined;
  let last: Session | undefined;
  const interrupted: { err?: JobCancelledError } = {};
  const removeHandlers = cancelOnSignals(() => session, interrupted);
  // A session after a lost member binds where the first one did, where the members look for it.
  let bind = flags.bind;
  const cap = spec.cluster.maxWorkers ?? spec.cluster.workers;
  try {
    const summary = await runRecovering(
      spec,
      output,
      (a) =>
        runSession({
          spec: a.spec,
          recorded: spec,
          bind,
          ...(last ? { bindRetryMs: REBIND_MS } : {}),
          outDir,
          log: output.log,
          progress,
          job: type.run,
          spares: 'hold',
          ...(a.resume ? { resume: a.resume } : {}),
          summaryExtras: a.summaryExtras,
          goesOn: a.goesOn,
          rejoin: true,
          onSummary: a.onSummary,
          onBound: (endpoint, s) => {
            session = s;
            if (interrupted.err) s.interrupt(interrupted.err);
            const again = bind !== flags.bind || a.summaryExtras.recoveries.length > 0;
            bind = endpoint;
            const shards = psSettings(spec.cluster)?.shards ?? 0;
            const size = a.spec.cluster.workers;
            const whom = `${size} worker(s)${shards > 0 ? ` and ${shards} ps shard(s)` : ''}`;
            if (again) progress.note(`${spec.name}: waiting for ${whom} to join again on ${endpoint}`);
            else {
              progress.note(`${spec.name}: listening on ${endpoint}; waiting for ${spec.cluster.workers} worker(s) (dtrain worker --connect ${endpoint})`);
              if (shards > 0) progress.note(`and for ${shards} ps shard(s) (dtrain ps --connect ${endpoint})`);
            }
            s.membership.onJoin = (w, joined, expected) => progress.note(`${label(w)} joined (${joined}/${expected})`);
            // A worker waiting while the job has room: the session ends at its next checkpoint and the next one takes it.
            s.membership.onSpare = (role) => {
              if (role === 'worker' && size < cap) s.regroup(new RegroupError(`a worker waits to join (${size} of at most ${cap} running)`));
            };
            last = s;
          },
        }),
      resume,
      interrupted,
      (err, current) => nextWorkers(spec.cluster, last?.membership, err, current),
    );
    printSummary(summary, outDir, flags.json, type);
    return 0;
  } finally {
    removeHandlers();
  }
}

/** A session after another binds the endpoint the last one just closed: ZeroMQ frees it a moment later. */
const REBIND_MS = 10_000;

/**
 * The next session's workers: those left after the loss and those waiting,
 * at most cluster.maxWorkers, at least cluster.minWorkers (it then waits for
 * more, up to cluster.joinTimeoutMs).
 */
function nextWorkers(cluster: ClusterSpec, m: Membership | undefined, err: unknown, current: number): number {
  if (!m) return current;
  const lost = err instanceof WorkerLostError && m.lost?.role === 'worker' ? 1 : 0;
  const available = m.workers.length - lost + m.sparesOf('worker');
  return Math.max(cluster.minWorkers, Math.min(cluster.maxWorkers ?? cluster.workers, available));
}
