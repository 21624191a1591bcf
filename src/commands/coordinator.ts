/** `dtrain coordinator job.yaml --bind tcp://HOST:PORT`: waits for cluster.workers workers (and the ps shards of strategy ps), then runs the job. */
import { label } from '../coordinator/membership.js';
import { runSession, type Session } from '../coordinator/session.js';
import { UsageError } from '../shared/errors.js';
import { loadJobFile, type Overrides } from '../shared/job-file.js';
import { psSettings } from '../shared/job-spec.js';
import { cancelOnSignals, openJobOutput, type OutputFlags } from './job-output.js';
import { printSummary } from './summary-line.js';

export interface CoordinatorFlags extends Overrides, OutputFlags {
  bind: string;
}

export async function coordinatorCommand(jobFile: string, flags: CoordinatorFlags): Promise<number> {
  if (!/^tcp:\/\/[^:]+:(\d+|\*)$/.test(flags.bind)) throw new UsageError(`--bind must look like tcp://HOST:PORT, got ${flags.bind}`);
  const spec = loadJobFile(jobFile, flags);
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
      onBound: (endpoint, s) => {
        session = s;
        const shards = psSettings(spec.cluster)?.shards ?? 0;
        progress.note(`${spec.name}: listening on ${endpoint}; waiting for ${spec.cluster.workers} worker(s) (dtrain worker --connect ${endpoint})`);
        if (shards > 0) progress.note(`and for ${shards} ps shard(s) (dtrain ps --connect ${endpoint})`);
        s.membership.onJoin = (w, joined, expected) => progress.note(`${label(w)} joined (${joined}/${expected})`);
      },
    });
    printSummary(summary, outDir, flags.json);
    return 0;
  } finally {
    removeHandlers();
  }
}
