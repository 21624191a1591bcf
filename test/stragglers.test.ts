/**
 * Straggler detection on synthetic compute times with ±10% seeded noise:
 * noise and a single slow step name nobody; a worker 1.5× slower is named
 * at the close of its third all-slow window and cleared three normal
 * windows after it recovers; a detector restored from its JSON state goes
 * on exactly as one never interrupted.
 *
 * Window arithmetic used for the expected steps below (default options:
 * windows of 20 steps, 3 windows to name and to clear; steps numbered from
 * 1): windows close at steps 20, 40, 60, …, so a worker slow from step 200
 * has its first all-slow window 201–220 (200 alone is 1 of 20 steps of
 * window 181–200), and the third closes at step 260.
 */
import { describe, expect, it } from 'vitest';
import { StragglerDetector, type StragglerChange } from '../src/observe/stragglers.js';
import { rng } from './helpers/seeded-rng.js';

const BASE_MS = 50;

/** Compute time of `rank` at `step`: BASE_MS times factor(step, rank), times uniform noise in ±10%. */
type Factor = (step: number, rank: number) => number;

/** Feeds steps from..to of `workers` ranks (a rank with factor 0 does not report) and returns every change. */
function feed(d: StragglerDetector, from: number, to: number, workers: number, factor: Factor, seed: number, onStep?: (step: number) => void): StragglerChange[] {
  const r = rng(seed * 1_000_003 + from);
  const changes: StragglerChange[] = [];
  for (let step = from; step <= to; step++) {
    const reports: { rank: number; computeMs: number }[] = [];
    for (let rank = 0; rank < workers; rank++) {
      const noise = 0.9 + 0.2 * r();
      const f = factor(step, rank);
      if (f > 0) reports.push({ rank, computeMs: BASE_MS * f * noise });
    }
    // Any order: reports come in as workers finish.
    if (step % 2 === 1) reports.reverse();
    changes.push(...d.observe(step, reports));
    onStep?.(step);
  }
  return changes;
}

const even: Factor = () => 1;
/** Rank 2 at 1.5× from step 200 through step `until`. */
const slowRank2 =
  (until = Infinity, factor = 1.5): Factor =>
  (step, rank) =>
    rank === 2 && step >= 200 && step <= until ? factor : 1;

describe('straggler detection', () => {
  it('±10% noise names nobody over 1000 steps of 4 workers (several seeds)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const d = new StragglerDetector();
      expect(feed(d, 1, 1000, 4, even, seed)).toEqual([]);
      expect(d.current()).toEqual([]);
      expect(d.records()).toEqual([]);
    }
  });

  it('one 10× step (a GC pause) names nobody, even when a single slow window would', () => {
    const spike: Factor = (step, rank) => (rank === 1 && step === 333 ? 10 : 1);
    for (const windows of [3, 1]) {
      const d = new StragglerDetector({ windows });
      expect(feed(d, 1, 1000, 4, spike, 7)).toEqual([]);
    }
    // The spike is there: windows of one step would take it.
    expect(feed(new StragglerDetector({ window: 1, windows: 1 }), 1, 1000, 4, spike, 7).map((c) => [c.rank, c.kind, c.step])).toEqual([
      [1, 'straggler', 333],
      [1, 'recovered', 334],
    ]);
  });

  it('a worker 1.5× slower from step 200 is named at step 260 by the change, current() and records()', () => {
    const d = new StragglerDetector();
    const named: number[][] = [];
    const changes = feed(d, 1, 1000, 4, slowRank2(), 11, (step) => {
      if (step === 259 || step === 260) named.push(d.current());
    });
    expect(named).toEqual([[], [2]]);
    expect(changes).toHaveLength(1);
    const [c] = changes;
    expect(c).toMatchObject({ rank: 2, kind: 'straggler', step: 260 });
    expect(c.ratio).toBeCloseTo(1.5, 1);
    expect(c.computeMs).toBeCloseTo(c.othersMs * c.ratio, 6);
    expect(d.current()).toEqual([2]);
    const records = d.records();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ rank: 2, sinceStep: 260 });
    expect(records[0].untilStep).toBeUndefined();
    expect(records[0].ratio).toBeCloseTo(1.5, 1);
    expect(records[0].othersMs).toBeCloseTo(BASE_MS, -1);
  });

  it('a worker that recovers after step 500 is cleared at step 560, its record closed with untilStep', () => {
    const d = new StragglerDetector();
    const changes = feed(d, 1, 1000, 4, slowRank2(500), 13);
    expect(changes.map((c) => [c.rank, c.kind, c.step])).toEqual([
      [2, 'straggler', 260],
      [2, 'recovered', 560],
    ]);
    expect(changes[1].ratio).toBeLessThan(1.25);
    expect(d.current()).toEqual([]);
    const records = d.records();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ rank: 2, sinceStep: 260, untilStep: 560 });
    expect(records[0].ratio).toBeCloseTo(1.5, 1);
    expect(records[0].computeMs).toBeCloseTo(1.5 * BASE_MS, -1);
  });

  it('a second slow period gets a second record', () => {
    const twice: Factor = (step, rank) => (rank === 0 && ((step > 100 && step <= 200) || step > 600) ? 1.6 : 1);
    const d = new StragglerDetector();
    // Slow windows 101–120…181–200: named at 160, cleared at 260; again from 601: named at 660.
    expect(feed(d, 1, 800, 3, twice, 17).map((c) => [c.kind, c.step])).toEqual([
      ['straggler', 160],
      ['recovered', 260],
      ['straggler', 660],
    ]);
    expect(d.records().map((r) => [r.rank, r.sinceStep, r.untilStep])).toEqual([
      [0, 160, 260],
      [0, 660, undefined],
    ]);
  });

  it('below the ratio, or less than minExcessMs above the others, nobody is named', () => {
    expect(feed(new StragglerDetector(), 1, 1000, 4, slowRank2(Infinity, 1.15), 19)).toEqual([]);
    // 2× of 0.4 ms is 0.4 ms above the others: under the default 1 ms, named with a 0.1 ms floor.
    const tiny = (d: StragglerDetector) => feed(d, 1, 1000, 4, (s, r) => (r === 2 ? 2 : 1) * (0.4 / BASE_MS), 23);
    expect(tiny(new StragglerDetector())).toEqual([]);
    expect(tiny(new StragglerDetector({ minExcessMs: 0.1 })).map((c) => [c.rank, c.step])).toEqual([[2, 60]]);
  });

  it('1 worker is never named; of 2 workers only the slower one', () => {
    const wild: Factor = (step) => (step % 100 < 50 ? 3 : 1);
    const alone = new StragglerDetector({ windows: 1 });
    expect(feed(alone, 1, 1000, 1, wild, 29)).toEqual([]);
    expect(alone.records()).toEqual([]);

    const pair = new StragglerDetector({ windows: 1 });
    const counts: number[] = [];
    const changes = feed(pair, 1, 400, 2, (_s, r) => (r === 1 ? 2 : 1), 31, () => counts.push(pair.current().length));
    expect(Math.max(...counts)).toBe(1);
    expect(changes.map((c) => [c.rank, c.kind, c.step])).toEqual([[1, 'straggler', 20]]);
  });

  it('a named worker that leaves is cleared after 3 windows without it; a window of one worker judges nobody', () => {
    const leaves: Factor = (step, rank) => (rank === 3 ? (step <= 100 ? 1.5 : 0) : 1);
    const d = new StragglerDetector();
    expect(feed(d, 1, 300, 4, leaves, 37).map((c) => [c.rank, c.kind, c.step])).toEqual([
      [3, 'straggler', 60],
      [3, 'recovered', 160],
    ]);
    // Only rank 0 left, 2× slower than the departed: nothing to compare with.
    const alone = new StragglerDetector({ windows: 1 });
    expect(feed(alone, 1, 300, 2, (step, rank) => (rank === 1 ? (step <= 40 ? 1 : 0) : step <= 40 ? 1 : 2), 41)).toEqual([]);
    // Rank 1, named, is left alone from step 101: it stays named, as no window judges it.
    const named = new StragglerDetector();
    expect(feed(named, 1, 300, 2, (step, rank) => (rank === 1 ? 2 : step <= 100 ? 1 : 0), 43).map((c) => [c.rank, c.kind, c.step])).toEqual([[1, 'straggler', 60]]);
    expect(named.current()).toEqual([1]);
  });

  it('a rank in fewer than half of a window\'s steps is left out of that window', () => {
    const every = (n: number): Factor => (step, rank) => (rank !== 3 ? 1 : step % n === 0 ? 2 : 0);
    // Every third step: 6 or 7 of 20. Every other step: 10 of 20, named at the third window.
    expect(feed(new StragglerDetector(), 1, 1000, 4, every(3), 45)).toEqual([]);
    expect(feed(new StragglerDetector(), 1, 1000, 4, every(2), 45).map((c) => [c.rank, c.kind, c.step])).toEqual([[3, 'straggler', 60]]);
  });

  it('a long straggle keeps its state small and its ratio right', () => {
    const d = new StragglerDetector();
    feed(d, 1, 100_000, 3, (_s, r) => (r === 0 ? 1.5 : 1), 43);
    expect(d.current()).toEqual([0]);
    expect(d.records()[0].ratio).toBeCloseTo(1.5, 1);
    expect(JSON.stringify(d.toJSON()).length).toBeLessThan(20_000);
  });

  it("a long period's medians weigh all of it, not its recent end", () => {
    // Rank 0 at 2× for 3000 windows, then at 1.5× for 1000: the period's median ratio is 2.
    const d = new StragglerDetector();
    feed(d, 1, 80_000, 3, (step, rank) => (rank === 0 ? (step <= 60_000 ? 2 : 1.5) : 1), 44);
    expect(d.records()).toHaveLength(1);
    expect(d.records()[0].ratio).toBeCloseTo(2, 1);
  });

  it('restored from toJSON mid-window and mid-streak, it goes on exactly as an uninterrupted detector', () => {
    const factor = slowRank2(500);
    // At 250: two slow windows and 10 steps of the third; at 530: one normal window of the three that clear.
    for (const at of [250, 530]) {
      const whole = new StragglerDetector();
      feed(whole, 1, at, 4, factor, 47);
      const state = JSON.parse(JSON.stringify(whole.toJSON())) as unknown;
      const restored = StragglerDetector.fromJSON(state);
      const after = feed(whole, at + 1, 1000, 4, factor, 53);
      expect(after.length).toBeGreaterThan(0);
      expect(feed(restored, at + 1, 1000, 4, factor, 53)).toEqual(after);
      expect(restored.records()).toEqual(whole.records());
      expect(restored.current()).toEqual(whole.current());
      // A fresh detector in its place would not have: the state matters.
      expect(feed(new StragglerDetector(), at + 1, 1000, 4, factor, 53)).not.toEqual(after);
    }
  });

  it('fromJSON keeps stored options unless told otherwise', () => {
    const d = new StragglerDetector({ window: 10, windows: 2 });
    const state = d.toJSON();
    expect(feed(StragglerDetector.fromJSON(state), 1, 100, 3, (_s, r) => (r === 0 ? 2 : 1), 59).map((c) => c.step)).toEqual([20]);
    expect(feed(StragglerDetector.fromJSON(state, { windows: 3 }), 1, 100, 3, (_s, r) => (r === 0 ? 2 : 1), 59).map((c) => c.step)).toEqual([30]);
  });

  it('fromJSON of garbage throws a clear Error', () => {
    const d = new StragglerDetector();
    feed(d, 1, 250, 4, slowRank2(), 61);
    const good = JSON.parse(JSON.stringify(d.toJSON())) as Record<string, unknown>;
    expect(() => StragglerDetector.fromJSON(good)).not.toThrow();
    const bad: unknown[] = [
      null,
      42,
      'state',
      [],
      {},
      { ...good, version: 2 },
      { ...good, options: { ...(good.options as object), window: 0 } },
      { ...good, options: { ...(good.options as object), ratio: 0.9 } },
      { ...good, seen: -1 },
      { ...good, samples: [{ rank: 0, ms: [1, null] }] },
      { ...good, samples: [{ rank: 0, ms: new Array(500).fill(1) }] },
      { ...good, ranks: [{ rank: 1, streak: [], normal: 1 }] },
      { ...good, ranks: [{ rank: 2, streak: [[1, 1, 1], [1, 1, 1], [1, 1, 1]], normal: 0 }] },
      { ...good, ranks: [{ rank: 2, streak: [[1, 1]], normal: 0 }] },
      { ...good, records: [{ rank: 2, sinceStep: 300, untilStep: 200, computeMs: 1, othersMs: 1, ratio: 1 }] },
      { ...good, records: [{ rank: 2, sinceStep: 1, windows: [], stride: 1, offered: 0 }] },
      { ...good, records: 'none' },
    ];
    for (const state of bad) expect(() => StragglerDetector.fromJSON(state), JSON.stringify(state)?.slice(0, 200)).toThrow(/straggler/);
  });
});
