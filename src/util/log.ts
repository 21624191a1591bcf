/** Logging: pino JSON lines to a file and/or stdout; one logger built per process and passed down. */
import pino, { type Logger } from 'pino';

export type { Logger };

/** The levels --log-level takes, most verbose first (pino's, `silent` logging nothing). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The environment variable that gives the level when --log-level is absent; dtrain run sets it for its workers and shards. */
export const LOG_LEVEL_ENV = 'DTRAIN_LOG_LEVEL';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export const isLogLevel = (v: unknown): v is LogLevel => typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);

/**
 * The level of the loggers this process makes without one of their own: the
 * CLI sets it from --log-level (or DTRAIN_LOG_LEVEL) before a command runs,
 * so that every log of the process (a service job's too) keeps to it.
 */
let processLevel: LogLevel = DEFAULT_LOG_LEVEL;

export function setLogLevel(level: LogLevel): void {
  processLevel = level;
}

export interface LogOptions {
  /** Append JSON lines here. */
  file?: string;
  /** Also write JSON lines to stdout. */
  json?: boolean;
  /** Default: the process's level (setLogLevel), info unless set. */
  level?: LogLevel;
  base?: Record<string, unknown>;
}

export function makeLogger(o: LogOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (o.file) streams.push({ stream: pino.destination({ dest: o.file, sync: true, mkdir: true }) });
  if (o.json) streams.push({ stream: pino.destination({ dest: 1, sync: true }) });
  const level = o.level ?? processLevel;
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level, base: o.base ?? { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams.map((s) => ({ ...s, level: level as pino.Level }))));
}
