/** What `run` and `coordinator` share: the output folder, its log, progress, and signals that cancel the job. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Progress } from '../coordinator/progress.js';
import type { Session } from '../coordinator/session.js';
import { JobCancelledError } from '../util/errors.js';
import type { JobSpec } from '../spec/job-spec.js';
import { makeLogger, type Logger } from '../util/log.js';

export interface OutputFlags {
  out?: string;
  json?: boolean;
  progress?: boolean;
}

export interface JobOutput {
  outDir: string;
  logFile: string;
  log: Logger;
  progress: Progress;
}

/** Creates DIR (default runs/<job name>) and starts DIR/log.jsonl afresh, or goes on with it (`append`: a resumed run). */
export function openJobOutput(spec: JobSpec, flags: OutputFlags, append = false): JobOutput {
  const outDir = flags.out ?? join('runs', spec.name);
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, 'log.jsonl');
  if (!append) writeFileSync(logFile, '');
  const log = makeLogger({ file: logFile, json: flags.json });
  const progress = new Progress(flags.json || flags.progress === false ? undefined : process.stderr, spec.name);
  return { outDir, logFile, log, progress };
}

/**
 * SIGINT and SIGTERM cancel the running session, after a checkpoint while
 * steps run; a signal that comes before the session exists is kept for it
 * (`pending`). Returns the function that removes the handlers.
 */
export function cancelOnSignals(session: () => Session | undefined, pending: { err?: JobCancelledError } = {}): () => void {
  return onStopSignals((sig) => {
    pending.err ??= new JobCancelledError(`interrupted by ${sig}`);
    session()?.interrupt(pending.err);
  });
}

/** Calls `h` on each SIGINT or SIGTERM, with its name; returns the function that removes the handlers. */
export function onStopSignals(h: (sig: 'SIGINT' | 'SIGTERM') => void): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const one = () => h(sig);
    process.on(sig, one);
    return () => process.off(sig, one);
  });
  return () => handlers.forEach((off) => off());
}
