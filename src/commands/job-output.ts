/** What `run` and `coordinator` share: the output folder, its log, progress, and signals that cancel the job. */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Progress } from '../coordinator/progress.js';
import type { JobObserver } from '../observe/observer.js';
import type { MetricsSink } from '../coordinator/metrics.js';
import type { Session } from '../coordinator/session.js';
import { JobCancelledError, UsageError } from '../util/errors.js';
import type { JobSpec } from '../spec/job-spec.js';
import { makeLogger, type Logger, type LogLevel } from '../util/log.js';

export interface OutputFlags {
  out?: string;
  json?: boolean;
  progress?: boolean;
  /** Replace the earlier run in the output folder (without it an earlier run there is an error). */
  overwrite?: boolean;
  /** The log's least level (default: the process's, --log-level). */
  logLevel?: LogLevel;
}

export interface JobOutput {
  outDir: string;
  logFile: string;
  log: Logger;
  progress: Progress;
  /** Hears every finished step and evaluation (--metrics-port, --dashboard). */
  observer?: JobObserver;
  /** Hears every metrics line and picture (--dashboard). */
  metrics?: MetricsSink;
}

/** Creates DIR (default runs/<job name>) and starts DIR/log.jsonl afresh, or goes on with it (`append`: a resumed run). */
export function openJobOutput(spec: JobSpec, flags: OutputFlags, append = false): JobOutput {
  const outDir = flags.out ?? join('runs', spec.name);
  if (!append) clearForRun(outDir, flags.overwrite ?? false);
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, 'log.jsonl');
  if (!append) writeFileSync(logFile, '');
  const log = makeLogger({ file: logFile, json: flags.json, ...(flags.logLevel ? { level: flags.logLevel } : {}) });
  const progress = new Progress(flags.json || flags.progress === false ? undefined : process.stderr, spec.name);
  return { outDir, logFile, log, progress };
}

/** The files that make a folder a run's: nothing else in a folder is ever deleted. */
const RUN_MARKS = ['job.json', 'log.jsonl'];

/**
 * A run never replaces an earlier one silently: an output folder that holds
 * an earlier run is an error unless `overwrite` (then that run is removed);
 * a non-empty folder that is not a run's, or a file in the way, is always
 * one.
 */
function clearForRun(outDir: string, overwrite: boolean): void {
  if (!existsSync(outDir)) return;
  if (!statSync(outDir).isDirectory()) throw new UsageError(`the output folder ${outDir} is a file: give --out another path`);
  const entries = readdirSync(outDir);
  if (entries.length === 0) return;
  if (!RUN_MARKS.some((m) => entries.includes(m))) {
    throw new UsageError(`the output folder ${outDir} is not empty and holds no earlier run (no ${RUN_MARKS.join(' or ')}): give --out an empty or new folder`);
  }
  if (!overwrite) {
    const resumable = entries.includes('checkpoints') ? `dtrain run --resume ${outDir} continues it from its latest checkpoint, ` : '';
    throw new UsageError(`${outDir} holds an earlier run: ${resumable}--overwrite replaces it, --out DIR writes elsewhere`);
  }
  rmSync(outDir, { recursive: true, force: true });
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
