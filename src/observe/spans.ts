/**
 * Where a worker's time goes, span by span, for the run's timeline
 * (DIR/trace.json): each span is a lane, a start and a duration, in
 * milliseconds since the Unix epoch, so that spans of the compute thread,
 * the comm thread and other processes on the host line up. A worker buffers
 * its spans and sends them with its next step report; the buffer is
 * bounded, so a worker nobody drains (a test's program) cannot grow it.
 */

/** The lanes of the timeline, in the order they are drawn; a span travels as its lane's index. */
export const LANES = ['data', 'forward/backward', 'waiting for peers', 'all-reduce', 'optimizer', 'evaluation', 'checkpoint', 'scheduling'] as const;
export type Lane = (typeof LANES)[number];

/** Now, in milliseconds since the epoch, with performance.now()'s resolution (its origin differs between threads: this does not). */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Spans as they travel: flat triples (lane index, start ms since the epoch, duration ms). */
export type FlatSpans = number[];

/** The most spans a report carries; later ones until the next report are counted, not kept. */
export const MAX_SPANS = 256;

export class SpanBuffer {
  private spans: FlatSpans = [];
  /** Spans left out since the last take (more than MAX_SPANS between two reports). */
  dropped = 0;

  /** A span from `start` to `end`, both performance.now() values of this thread. */
  add(lane: Lane, start: number, end = performance.now()): void {
    this.addEpoch(lane, performance.timeOrigin + start, performance.timeOrigin + end);
  }

  /** A span between two epochNow() values (another thread's). */
  addEpoch(lane: Lane, start: number, end: number): void {
    if (this.spans.length >= 3 * MAX_SPANS) {
      this.dropped++;
      return;
    }
    this.spans.push(LANES.indexOf(lane), start, Math.max(0, end - start));
  }

  /** The spans since the last take (and how many were left out), and a fresh buffer. */
  take(): { spans: FlatSpans; spansDropped?: number } {
    const out = { spans: this.spans, ...(this.dropped > 0 ? { spansDropped: this.dropped } : {}) };
    this.spans = [];
    this.dropped = 0;
    return out;
  }
}
