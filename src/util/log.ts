/** Logging: pino JSON lines to a file and/or stdout; one logger built per process and passed down. */
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  /** Append JSON lines here. */
  file?: string;
  /** Also write JSON lines to stdout. */
  json?: boolean;
  level?: string;
  base?: Record<string, unknown>;
}

export function makeLogger(o: LogOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (o.file) streams.push({ stream: pino.destination({ dest: o.file, sync: true, mkdir: true }) });
  if (o.json) streams.push({ stream: pino.destination({ dest: 1, sync: true }) });
  const level = o.level ?? 'info';
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level, base: o.base ?? { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams.map((s) => ({ ...s, level: level as pino.Level }))));
}
