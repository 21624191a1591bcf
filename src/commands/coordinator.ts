/** `dtrain coordinator job.yaml --bind tcp://HOST:PORT`: waits for cluster.workers workers, then runs the job. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Progress } from '../coordinator/progress.js';
import { runSession, type Session } from '../coordinator/session.js';
import { JobCancelledError, UsageError } from '../shared/errors.js';
import { loadJobFile, type Overrides } from '../shared/job-file.js';
import { makeLogger } from '../shared/log.js';
import { printSummary } from './summary-line.js';

export interface CoordinatorFlags extends Overrides {
  bind: string;
  out?: string;
  json?: boolean;
}

export async function coordinatorCommand(jobFile: string, flags: CoordinatorFlags): Promise<number> {
  if (!/^tcp:\/\/[^:]+:(\d+|\*)$/.test(flags.bind)) throw new UsageError(`--bind must look like tcp://HOST:PORT, got ${flags.bind}`);
  const spec = loadJobFile(jobFile, flags);
  const outDir = flags.out ?? join('runs', spec.name);
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, 'log.jsonl');
  writeFileSync(logFile, '');
  const log = makeLogger({ file: logFile, json: flags.json });
  const progress = new Progress(flags.json ? undefined : process.stderr, spec.name);
  let session: Session | undefined;
  const onInt = () => session?.fail(new JobCancelledError('interrupted by SIGINT'));
  process.on('SIGINT', onInt);
  try {
    const summary = await runSession({
      spec,
      bind: flags.bind,
      outDir,
      log,
      progress,
      onBound: (endpoint, s) => {
        session = s;
        progress.note(`${spec.name}: listening on ${endpoint}; waiting for ${spec.cluster.workers} worker(s) (dtrain worker --connect ${endpoint})`);
      },
    });
    printSummary(summary, outDir, flags.json);
    return 0;
  } finally {
    process.off('SIGINT', onInt);
  }
}
