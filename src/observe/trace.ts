/**
 * DIR/trace.json: the run's timeline in the Chrome trace event format
 * (chrome://tracing and Perfetto open it). Process 0 is the coordinator,
 * process r + 1 worker r; each lane of observe/spans.ts is a thread. Every
 * span is an `X` (complete) event, ts and dur in microseconds since the
 * epoch, so that spans of different processes on one host line up (across
 * hosts, their clocks' offset shows).
 *
 * Off the hot path: the workers' spans arrive with their step reports and
 * are kept here as numbers; the JSON is written once, when the session
 * ends. A resumed run keeps the earlier sessions' events. At most
 * MAX_EVENTS are kept: later ones are counted in `otherData.dropped`, with
 * those a worker left out (more than MAX_SPANS between two reports).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LANES, type FlatSpans, type Lane } from './spans.js';
import type { EvalReport, JobObserver, StepReport } from './observer.js';

export const TRACE_FILE = 'trace.json';

/** Spans kept per run (about 100 bytes each in the file). */
export const MAX_EVENTS = 300_000;

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
}

export class TraceRecorder implements JobObserver {
  /** Flat quadruples: pid, lane index, start ms, duration ms. */
  private readonly spans: number[] = [];
  /** Events of earlier sessions of this run (a resumed run's trace.json). */
  private readonly earlier: TraceEvent[] = [];
  private readonly hosts = new Map<number, string>();
  private dropped = 0;

  /** `resumeFrom`: the trace.json of the run being resumed, whose events are kept. */
  constructor(
    private readonly job: string,
    resumeFrom?: string,
  ) {
    if (resumeFrom && existsSync(resumeFrom)) this.earlier = readEvents(resumeFrom);
  }

  step(_step: number, reports: StepReport[]): void {
    for (const r of reports) this.worker(r);
  }

  evaluation(_seconds: number, reports: EvalReport[]): void {
    for (const r of reports) this.worker(r);
  }

  span(lane: Lane, start: number, end: number): void {
    this.add(0, LANES.indexOf(lane), start, end - start);
  }

  /** A worker's spans, on its process's lanes. */
  private worker(r: { rank: number; host?: string; spans?: FlatSpans; spansDropped?: number }): void {
    if (r.host !== undefined) this.hosts.set(r.rank, r.host);
    this.dropped += r.spansDropped ?? 0;
    const s = r.spans ?? [];
    for (let i = 0; i + 2 < s.length; i += 3) this.add(r.rank + 1, s[i], s[i + 1], s[i + 2]);
  }

  private add(pid: number, lane: number, start: number, dur: number): void {
    if (this.earlier.length + this.spans.length / 4 >= MAX_EVENTS) {
      this.dropped++;
      return;
    }
    this.spans.push(pid, lane, start, dur);
  }

  /** Every event so far, with the names of the processes and lanes. */
  events(): TraceEvent[] {
    const pids = new Set<number>([0]);
    const out: TraceEvent[] = [];
    for (let i = 0; i < this.spans.length; i += 4) {
      const [pid, lane, start, dur] = [this.spans[i], this.spans[i + 1], this.spans[i + 2], this.spans[i + 3]];
      pids.add(pid);
      out.push({ name: LANES[lane] ?? 'unknown', ph: 'X', pid, tid: lane, ts: Math.round(start * 1000), dur: Math.round(dur * 1000) });
    }
    for (const e of this.earlier) if (e.ph === 'X') pids.add(e.pid);
    const meta: TraceEvent[] = [];
    for (const pid of [...pids].sort((a, b) => a - b)) {
      const host = this.hosts.get(pid - 1);
      meta.push({ name: 'process_name', ph: 'M', pid, args: { name: pid === 0 ? 'coordinator' : `worker ${pid - 1}${host ? ` (${host})` : ''}` } });
      meta.push({ name: 'process_sort_index', ph: 'M', pid, args: { sort_index: pid } });
      LANES.forEach((lane, tid) => meta.push({ name: 'thread_name', ph: 'M', pid, tid, args: { name: lane } }, { name: 'thread_sort_index', ph: 'M', pid, tid, args: { sort_index: tid } }));
    }
    return [...meta, ...this.earlier.filter((e) => e.ph === 'X'), ...out];
  }

  /** Writes the trace file (one event per line, for diffs and for reading a part of it). */
  write(file: string): void {
    const lines = this.events().map((e) => JSON.stringify(e));
    const other = JSON.stringify({ job: this.job, dropped: this.dropped, clock: 'microseconds since the Unix epoch' });
    writeFileSync(file, `{"displayTimeUnit":"ms","otherData":${other},"traceEvents":[\n${lines.join(',\n')}\n]}\n`);
  }
}

/** The events of an earlier trace.json; an unreadable one is started afresh (it is a record, not state the job needs). */
function readEvents(file: string): TraceEvent[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents?: unknown };
    return Array.isArray(parsed.traceEvents) ? (parsed.traceEvents as TraceEvent[]).slice(0, MAX_EVENTS) : [];
  } catch {
    return [];
  }
}
