/**
 * `dtrain coordinator job.yaml --bind tcp://HOST:PORT`: waits for cluster.workers workers (and the ps shards of strategy ps), then runs the job.
 * With --nats instead of a job file: service mode (service.ts).
 */
import { label } from '../coordinator/membership.js';
import { runSession, type Session } from '../coordinator/session.js';
import { UsageError } from '../util/errors.js';
import { jobTypeOf, loadJobFile } from '../jobs/registry.js';
import type { Overrides } from '../spec/job-file.js';
import { psSettings } from '../spec/job-spec.js';
import { cancelOnSignals, openJobOutput, type OutputFlags } from './job-output.js';
import { serviceCommand, type ServiceFlags } from './service.js';
import { printSummary } from './summary-line.js';

export interface CoordinatorFlags extends Overrides, OutputFlags, Partial<ServiceFlags> {
  bind: string;
}

export async function coordinatorCommand(jobFile: string | undefined, flags: CoordinatorFlags): Promise<number> {
  if (!/^tcp:\/\/[^:]+:(\d+|\*)$/.test(flags.bind)) throw new UsageError(`--bind must look like tcp://HOST:PORT, got ${flags.bind}`);
  if (flags.nats !== undefined) {
    if (jobFile !== undefined) throw new UsageError('service mode (--nats) takes its jobs from NATS: submit job files with dtrain submit, not as an argument');
    return serviceCommand({ ...flags, nats: flags.nats });
  }
  if (jobFile === undefined) throw new UsageError('give a job file, or --nats URL --state-dir DIR for service mode');
  for (const f of ['stateDir', 'token', 'creds'] as const) if (flags[f] !== undefined) throw new UsageError(`--${f === 'stateDir' ? 'state-dir' : f} belongs to service mode: add --nats URL`);
  const spec = loadJobFile(jobFile, flags);
  const type = jobTypeOf(spec);
  const { outDir, log, progress } = openJobOutput(spec, flags);
  let session: Session | undefined;
  const removeHandlers = cancelOnSignals(() => session);
  try {
    const summary = await runSession({
      spec,
      bind: flags.bind,
      outDir,
      log,
      progress,
      job: type.run,
      onBound: (endpoint, s) => {
        session = s;
        const shards = psSettings(spec.cluster)?.shards ?? 0;
        progress.note(`${spec.name}: listening on ${endpoint}; waiting for ${spec.cluster.workers} worker(s) (dtrain worker --connect ${endpoint})`);
        if (shards > 0) progress.note(`and for ${shards} ps shard(s) (dtrain ps --connect ${endpoint})`);
        s.membership.onJoin = (w, joined, expected) => progress.note(`${label(w)} joined (${joined}/${expected})`);
      },
    });
    printSummary(summary, outDir, flags.json, type);
    return 0;
  } finally {
    removeHandlers();
  }
}
