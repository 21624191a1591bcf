/**
 * `dtrain coordinator job.yaml --bind tcp://HOST:PORT`: waits for cluster.workers workers (and the ps shards of strategy ps), then runs the job.
 * A member lost mid-job: the others are told to join again, and the job goes on from its latest checkpoint once the
 * workers are back to cluster.workers (a restarted process, a `--serve` worker's next one, or the same one after a link
 * cut). `--resume DIR`: a coordinator that was itself lost continues the job in DIR; its workers are waiting to rejoin.
 * With --nats instead of a job file: service mode (service.ts).
 */
import { label } from '../coordinator/membership.js';
import { Regrouping } from '../coordinator/regroup.js';
import { runSession, type Session } from '../coordinator/session.js';
import { type JobCancelledError, UsageError } from '../util/errors.js';
import { controlFrameLimit, jobTypeOf } from '../jobs/registry.js';
import { runRecovering } from '../coordinator/recovery.js';
import { jobToRun, type ResumeFlags } from './job-to-run.js';
import { psSettings } from '../spec/job-spec.js';
import { cancelOnSignals, openJobOutput, type OutputFlags } from './job-output.js';
import { startWatchServers, type WatchFlags } from './watch-servers.js';
import { serviceCommand, type ServiceFlags } from './service.js';
import { printSummary } from './summary-line.js';
import { clusterKeyFor, hostOf, type SecurityFlags } from './security-flags.js';

export interface CoordinatorFlags extends ResumeFlags, OutputFlags, Partial<ServiceFlags>, SecurityFlags, WatchFlags {
  bind: string;
}

export async function coordinatorCommand(jobFile: string | undefined, flags: CoordinatorFlags): Promise<number> {
  if (!/^tcp:\/\/[^:]+:(\d+|\*)$/.test(flags.bind)) throw new UsageError(`--bind must look like tcp://HOST:PORT, got ${flags.bind}`);
  const key = clusterKeyFor('coordinator', [hostOf(flags.bind)], flags);
  if (flags.nats !== undefined) {
    if (jobFile !== undefined || flags.resume !== undefined) throw new UsageError('service mode (--nats) takes its jobs from NATS: submit job files with dtrain submit, not as an argument (it resumes its own jobs on restart)');
    return serviceCommand({ ...flags, nats: flags.nats }, key);
  }
  if (jobFile === undefined && flags.resume === undefined) throw new UsageError('give a job file, --resume DIR to continue a run, or --nats URL --state-dir DIR for service mode');
  const serviceOnly = { stateDir: '--state-dir', token: '--token', creds: '--creds', user: '--user', maxParams: '--max-params', maxDataMb: '--max-data-mb', maxWorkers: '--max-workers' } as const;
  for (const [f, flag] of Object.entries(serviceOnly)) if (flags[f as keyof typeof serviceOnly] !== undefined) throw new UsageError(`${flag} belongs to service mode: add --nats URL`);
  const { spec, resume } = jobToRun(jobFile, flags);
  const type = jobTypeOf(spec);
  const maxFrame = await controlFrameLimit(spec);
  const output = openJobOutput(spec, { ...flags, out: flags.resume ?? flags.out }, resume !== undefined);
  const { outDir, progress } = output;
  if (resume) progress.note(`resuming from ${resume.dir} (step ${resume.step})`);
  let session: Session | undefined;
  const regrouping = new Regrouping(spec.cluster);
  const interrupted: { err?: JobCancelledError } = {};
  const watch = await startWatchServers(flags, spec, output);
  const removeHandlers = cancelOnSignals(() => session, interrupted);
  // A session after a lost member binds where the first one did, where the members look for it.
  let bind = flags.bind;
  try {
    const summary = await runRecovering(
      spec,
      output,
      (a) =>
        runSession({
          ...regrouping.sessionOptions(a, spec),
          bind,
          ...(key ? { key } : {}),
          ...(maxFrame ? { maxFrame } : {}),
          ...(output.observer ? { observer: output.observer } : {}),
          ...(output.metrics ? { metrics: output.metrics } : {}),
          outDir,
          log: output.log,
          progress,
          job: type.run,
          spares: 'hold',
          onBound: (endpoint, s) => {
            session = s;
            if (interrupted.err) s.interrupt(interrupted.err);
            const again = regrouping.again;
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
            regrouping.watch(s, size);
          },
        }),
      resume,
      interrupted,
      regrouping.next,
    );
    watch.finish();
    printSummary(summary, outDir, flags.json, type);
    return 0;
  } catch (err) {
    watch.finish(err);
    throw err;
  } finally {
    removeHandlers();
    await watch.close();
  }
}
