/**
 * The timeline's recorder alone: workers' flat spans become X events on
 * their process's lane, with names for processes and lanes; a resumed run's
 * recorder keeps the earlier file's events; past the cap, spans are counted,
 * not kept; an unreadable earlier file starts afresh.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LANES, SpanBuffer } from '../src/observe/spans.js';
import { MAX_EVENTS, TraceRecorder } from '../src/observe/trace.js';
import { tempDir } from './helpers/cli.js';
import { readTraceFile } from './helpers/trace-read.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('the timeline recorder', () => {
  it('spans of the workers and the coordinator, in microseconds, on named lanes', () => {
    const t = new TraceRecorder('job-a');
    const lane = (name: string) => LANES.indexOf(name as (typeof LANES)[number]);
    t.step(0, [
      { rank: 0, host: 'h0', count: 1, computeMs: 1, commMs: 1, spans: [lane('forward/backward'), 1000.5, 2.25, lane('all-reduce'), 1003, 1] },
      { rank: 1, host: 'h1', count: 1, computeMs: 1, commMs: 1, spans: [lane('all-reduce'), 1003.2, 0.8] },
    ]);
    t.span('scheduling', 999, 999.5);
    const file = join(tmp.dir, 'a.json');
    t.write(file);
    const { traceEvents, otherData } = readTraceFile(file);
    expect(otherData).toMatchObject({ job: 'job-a', dropped: 0 });
    const x = traceEvents.filter((e) => e.ph === 'X');
    expect(x).toEqual([
      { name: 'forward/backward', ph: 'X', pid: 1, tid: lane('forward/backward'), ts: 1_000_500, dur: 2250 },
      { name: 'all-reduce', ph: 'X', pid: 1, tid: lane('all-reduce'), ts: 1_003_000, dur: 1000 },
      { name: 'all-reduce', ph: 'X', pid: 2, tid: lane('all-reduce'), ts: 1_003_200, dur: 800 },
      { name: 'scheduling', ph: 'X', pid: 0, tid: lane('scheduling'), ts: 999_000, dur: 500 },
    ]);
    const names = new Map(traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args!.name]));
    expect([...names.entries()]).toEqual([
      [0, 'coordinator'],
      [1, 'worker 0 (h0)'],
      [2, 'worker 1 (h1)'],
    ]);
    const threads = traceEvents.filter((e) => e.name === 'thread_name' && e.pid === 1).map((e) => e.args!.name);
    expect(threads).toEqual([...LANES]);
  });

  it('a resumed run keeps the earlier events; an unreadable earlier file starts afresh', () => {
    const file = join(tmp.dir, 'b.json');
    const first = new TraceRecorder('job-b');
    first.span('checkpoint', 10, 12);
    first.write(file);
    const second = new TraceRecorder('job-b', file);
    second.span('evaluation', 20, 21);
    second.write(file);
    expect(readTraceFile(file).traceEvents.filter((e) => e.ph === 'X').map((e) => [e.name, e.ts])).toEqual([
      ['checkpoint', 10_000],
      ['evaluation', 20_000],
    ]);
    writeFileSync(file, '{"traceEvents": [');
    const third = new TraceRecorder('job-b', file);
    third.write(file);
    expect(readTraceFile(file).traceEvents.filter((e) => e.ph === 'X')).toEqual([]);
  });

  it('past MAX_EVENTS spans are counted, not kept', () => {
    const t = new TraceRecorder('job-c');
    for (let i = 0; i < MAX_EVENTS + 5; i++) t.span('scheduling', i, i + 0.5);
    const file = join(tmp.dir, 'c.json');
    t.write(file);
    const { traceEvents, otherData } = readTraceFile(file);
    expect(traceEvents.filter((e) => e.ph === 'X').length).toBe(MAX_EVENTS);
    expect(otherData.dropped).toBe(5);
  });

  it("a worker's span buffer: epoch times, bounded between two reports", () => {
    const b = new SpanBuffer();
    const t = performance.now();
    b.add('data', t, t + 2);
    const [lane, start, dur] = b.take().spans;
    expect(LANES[lane]).toBe('data');
    expect(Math.abs(start - (performance.timeOrigin + t))).toBeLessThan(1e-3);
    expect(dur).toBeCloseTo(2, 6);
    for (let i = 0; i < 300; i++) b.addEpoch('all-reduce', i, i + 1);
    expect(b.dropped).toBe(300 - 256);
    const taken = b.take();
    expect(taken.spans.length).toBe(3 * 256);
    expect(taken.spansDropped).toBe(44);
    expect(b.take()).toEqual({ spans: [] });
    // What a worker left out counts in the file's dropped spans.
    const recorder = new TraceRecorder('job-d');
    recorder.step(0, [{ rank: 0, count: 1, computeMs: 1, commMs: 1, spans: taken.spans, spansDropped: taken.spansDropped }]);
    const file = join(tmp.dir, 'd.json');
    recorder.write(file);
    expect(readTraceFile(file).otherData.dropped).toBe(44);
  });
});
