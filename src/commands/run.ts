/** `dtrain run job.yaml --workers N`: an embedded coordinator and N local worker processes. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reapWorkers, spawnWorkers, type LocalWorker } from '../coordinator/local-workers.js';
import { label } from '../coordinator/membership.js';
import { Progress } from '../coordinator/progress.js';
import { runSession, STOP_GRACE_MS, type Session } from '../coordinator/session.js';
import { JobCancelledError } from '../shared/errors.js';
import { loadJobFile, type Overrides } from '../shared/job-file.js';
import { makeLogger } from '../shared/log.js';
import { printSummary } from './summary-line.js';

export interface RunFlags extends Overrides {
  out?: string;
  json?: boolean;
  progress?: boolean;
}

export async function runCommand(jobFile: string, flags: RunFlags): Promise<number> {
  const spec = loadJobFile(jobFile, flags);
  const outDir = flags.out ?? join('runs', spec.name);
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, 'log.jsonl');
  writeFileSync(logFile, '');
  const log = makeLogger({ file: logFile, json: flags.json });
  const progress = new Progress(flags.json || flags.progress === false ? undefined : process.stderr, spec.name);
  let workers: LocalWorker[] = [];
  let session: Session | undefined;
  const cancel = (sig: string) => session?.fail(new JobCancelledError(`interrupted by ${sig}`));
  const onInt = () => cancel('SIGINT');
  const onTerm = () => cancel('SIGTERM');
  process.on('SIGINT', onInt).on('SIGTERM', onTerm);
  progress.note(`${spec.name}: ${spec.cluster.workers} worker(s), strategy ${spec.cluster.strategy}, backend ${spec.cluster.backend}, output in ${outDir}`);
  try {
    const summary = await runSession({
      spec,
      bind: 'tcp://127.0.0.1:*',
      outDir,
      log,
      progress,
      onBound: (endpoint, s) => {
        session = s;
        workers = spawnWorkers({
          count: spec.cluster.workers,
          connect: endpoint,
          logFile,
          onLost: (err) => s.fail(err),
          describe: (pid, index) => {
            const w = s.membership.byPid(pid);
            return w ? label(w) : `(spawned ${index}, pid ${pid}, before joining)`;
          },
        });
      },
    });
    printSummary(summary, outDir, flags.json);
    return 0;
  } finally {
    process.off('SIGINT', onInt).off('SIGTERM', onTerm);
    await reapWorkers(workers, STOP_GRACE_MS);
  }
}
