/** Reading DIR/trace.json in tests (the Chrome trace event format), apart from the writer's code. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

export interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  args?: { name?: string };
}

/** trace.json, checked against the trace event format's rules for the events it holds; its complete (X) events by process. */
export function readTrace(file: string): { names: Map<number, string>; spans: Map<number, TraceEvent[]> } {
  const trace = readTraceFile(file);
  expect(trace.displayTimeUnit).toBe('ms');
  const names = new Map<number, string>();
  const spans = new Map<number, TraceEvent[]>();
  for (const e of trace.traceEvents) {
    expect(['X', 'M']).toContain(e.ph);
    expect(Number.isInteger(e.pid)).toBe(true);
    if (e.ph === 'M') {
      if (e.name === 'process_name') names.set(e.pid, e.args!.name!);
      continue;
    }
    for (const k of ['ts', 'dur', 'tid'] as const) expect(Number.isInteger(e[k]), `${k} of ${JSON.stringify(e)}`).toBe(true);
    expect(e.dur).toBeGreaterThanOrEqual(0);
    spans.set(e.pid, [...(spans.get(e.pid) ?? []), e]);
  }
  return { names, spans };
}

/** The file as it is: its events and what else it says. */
export function readTraceFile(file: string): { traceEvents: TraceEvent[]; displayTimeUnit: string; otherData: { dropped: number; job: string } } {
  return JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof readTraceFile>;
}
