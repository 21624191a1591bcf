/**
 * Straggler detection: names a worker whose compute time (forward and
 * backward pass) is persistently above the others'.
 *
 * The rule: steps are grouped into windows of `window` observed steps. When a
 * window closes, each rank that reported in at least half of its steps gets
 * the median of its compute times; a rank is slow in that window when its
 * median is at least `ratio` times the median of the other ranks' medians
 * and at least `minExcessMs` above it. Medians make one slow step (a GC
 * pause) harmless; needing `windows` consecutive slow windows before naming a
 * straggler, and `windows` consecutive normal windows before clearing it,
 * keeps a noisy worker from flapping. A window with fewer than two measured
 * ranks judges nobody. With two workers only the slower one can be slow
 * (ratio > 1).
 *
 * A named rank that is absent from a judged window (it left, e.g. after a
 * regroup) counts that window as normal, so departed workers are cleared.
 * Memory: the current window's samples, per rank a streak of at most
 * `windows` window results, and the records; an open record keeps at most
 * MAX_PERIOD_WINDOWS window results (evenly thinned as it grows), from which
 * its medians come.
 */

/** Tuning of a StragglerDetector. */
export interface StragglerOptions {
  /** Steps per window (default 20). */
  window?: number;
  /** A worker is slow in a window when its median compute time is at least this many times the median of the other workers' medians (default 1.25)… */
  ratio?: number;
  /** …and at least this many milliseconds above it (default 1): sub-millisecond noise never counts. */
  minExcessMs?: number;
  /** Consecutive slow windows before a worker is named a straggler, and consecutive normal windows before it is cleared (default 3). */
  windows?: number;
}

/** A worker named a straggler, or cleared, at the close of the window ending at `step`; the numbers are that window's. */
export interface StragglerChange {
  rank: number;
  kind: 'straggler' | 'recovered';
  step: number;
  computeMs: number;
  othersMs: number;
  ratio: number;
}

/** One straggler period: from the step it was named to the step it was cleared (absent while open); numbers are medians over its slow windows. */
export interface StragglerRecord {
  rank: number;
  sinceStep: number;
  untilStep?: number;
  computeMs: number;
  othersMs: number;
  ratio: number;
}

const DEFAULTS: Required<StragglerOptions> = { window: 20, ratio: 1.25, minExcessMs: 1, windows: 3 };
/** Window results an open period keeps for its medians; beyond, every other one is dropped. */
const MAX_PERIOD_WINDOWS = 128;
/** Floor of the others' median in a ratio (1 µs), so that all-zero times give a finite ratio. */
const MIN_OTHERS_MS = 1e-3;
const STATE_VERSION = 1;

/** One rank's result in one window: [its median, the others' median, ratio]. */
type WindowStat = [number, number, number];

/** Consecutive slow windows not yet named (at most `windows` - 1), and consecutive normal windows of a named rank. */
interface RankState {
  streak: WindowStat[];
  normal: number;
}

/** An evenly thinned sample of a period's slow windows: window results number 0, stride, 2·stride, … */
interface Sampler {
  stats: WindowStat[];
  stride: number;
  offered: number;
}

interface Period {
  rank: number;
  sinceStep: number;
  untilStep?: number;
  /** Set while open; closed periods keep only their medians. */
  sampler?: Sampler;
  computeMs: number;
  othersMs: number;
  ratio: number;
}

export class StragglerDetector {
  private readonly opts: Required<StragglerOptions>;
  /** Steps observed in the current window. */
  private seen = 0;
  private samples = new Map<number, number[]>();
  private ranks = new Map<number, RankState>();
  private periods: Period[] = [];
  /** The open period of each named rank (also in `periods`). */
  private open = new Map<number, Period>();

  constructor(opts: StragglerOptions = {}) {
    this.opts = resolveOptions(opts);
  }

  /** One finished step's reports (any order; ranks may come and go between steps, e.g. after a regroup; reports without a rank >= 0 and a finite time >= 0 are ignored). Returns the changes this step caused (usually none). */
  observe(step: number, reports: { rank: number; computeMs: number }[]): StragglerChange[] {
    for (const r of reports) {
      if (!Number.isInteger(r.rank) || r.rank < 0 || !Number.isFinite(r.computeMs) || r.computeMs < 0) continue;
      let list = this.samples.get(r.rank);
      if (!list) this.samples.set(r.rank, (list = []));
      list.push(r.computeMs);
    }
    this.seen++;
    return this.seen >= this.opts.window ? this.closeWindow(step) : [];
  }

  /** Ranks named stragglers now. */
  current(): number[] {
    return [...this.open.keys()].sort((a, b) => a - b);
  }

  /** Every straggler period so far (open ones without untilStep), for summary.json; computeMs/othersMs/ratio are medians over the period's windows. */
  records(): StragglerRecord[] {
    return this.periods.map((p) => {
      const m = p.sampler ? periodMedians(p.sampler.stats) : p;
      const r: StragglerRecord = { rank: p.rank, sinceStep: p.sinceStep, computeMs: m.computeMs, othersMs: m.othersMs, ratio: m.ratio };
      if (p.untilStep !== undefined) r.untilStep = p.untilStep;
      return r;
    });
  }

  /** JSON-able state (options included), so a checkpointed job resumes its detection. */
  toJSON(): unknown {
    return {
      version: STATE_VERSION,
      options: { ...this.opts },
      seen: this.seen,
      samples: [...this.samples].map(([rank, ms]) => ({ rank, ms: [...ms] })),
      ranks: [...this.ranks].map(([rank, s]) => ({ rank, streak: s.streak.map(copyStat), normal: s.normal })),
      records: this.periods.map(periodToJSON),
    };
  }

  /** A detector resuming `state` (from toJSON); `opts` override the options stored in it. Throws on state that toJSON could not have written. */
  static fromJSON(state: unknown, opts: StragglerOptions = {}): StragglerDetector {
    const s = record(state, 'state');
    if (s.version !== STATE_VERSION) throw stateError(`version ${JSON.stringify(s.version)} is not ${STATE_VERSION}`);
    const stored = resolveOptions(readOptions(record(s.options, 'options')));
    const d = new StragglerDetector({ ...stored, ...definedOnly(opts) });
    d.seen = int(s.seen, 'seen');
    d.samples = readSamples(s.samples, d.seen);
    d.periods = list(s.records, 'records').map((p, i) => readPeriod(p, `records[${i}]`));
    for (const p of d.periods) {
      if (!p.sampler) continue;
      if (d.open.has(p.rank)) throw stateError(`rank ${p.rank} has two open records`);
      d.open.set(p.rank, p);
    }
    // Checked against the options the state was written with: a smaller `windows` in opts acts at the next window.
    d.ranks = readRanks(s.ranks, stored.windows, d.open);
    return d;
  }

  /** Judges the window that `step` closed and starts the next one. */
  private closeWindow(step: number): StragglerChange[] {
    const medians = windowMedians(this.samples, this.seen);
    this.samples = new Map();
    this.seen = 0;
    if (medians.size < 2) return [];
    const changes: StragglerChange[] = [];
    for (const [rank, ms] of medians) {
      const others = median([...medians].filter(([r]) => r !== rank).map(([, m]) => m));
      const stat: WindowStat = [ms, others, ms / Math.max(others, MIN_OTHERS_MS)];
      const change = this.isSlow(ms, others) ? this.slowWindow(rank, stat, step) : this.normalWindow(rank, stat, step);
      if (change) changes.push(change);
    }
    const all = median([...medians.values()]);
    for (const rank of [...this.ranks.keys()].filter((r) => !medians.has(r))) {
      const change = this.normalWindow(rank, this.absentStat(rank, all), step);
      if (change) changes.push(change);
    }
    return changes.sort((a, b) => a.rank - b.rank);
  }

  private isSlow(ms: number, others: number): boolean {
    return ms >= this.opts.ratio * others && ms - others >= this.opts.minExcessMs;
  }

  /** A named rank gone from a window: its period's median against everybody's. */
  private absentStat(rank: number, all: number): WindowStat {
    const p = this.open.get(rank);
    const ms = p?.sampler ? periodMedians(p.sampler.stats).computeMs : all;
    return [ms, all, ms / Math.max(all, MIN_OTHERS_MS)];
  }

  private slowWindow(rank: number, stat: WindowStat, step: number): StragglerChange | undefined {
    const st = this.rankState(rank);
    st.normal = 0;
    const open = this.open.get(rank);
    if (open?.sampler) {
      offer(open.sampler, stat);
      return undefined;
    }
    st.streak.push(stat);
    if (st.streak.length < this.opts.windows) return undefined;
    const sampler: Sampler = { stats: [], stride: 1, offered: 0 };
    for (const s of st.streak) offer(sampler, s);
    const period: Period = { rank, sinceStep: step, sampler, computeMs: 0, othersMs: 0, ratio: 0 };
    this.periods.push(period);
    this.open.set(rank, period);
    st.streak = [];
    return change(rank, 'straggler', step, stat);
  }

  private normalWindow(rank: number, stat: WindowStat, step: number): StragglerChange | undefined {
    const st = this.ranks.get(rank);
    if (!st) return undefined;
    st.streak = [];
    const open = this.open.get(rank);
    if (!open?.sampler) {
      this.ranks.delete(rank);
      return undefined;
    }
    if (++st.normal < this.opts.windows) return undefined;
    Object.assign(open, periodMedians(open.sampler.stats), { untilStep: step });
    delete open.sampler;
    this.open.delete(rank);
    this.ranks.delete(rank);
    return change(rank, 'recovered', step, stat);
  }

  private rankState(rank: number): RankState {
    let st = this.ranks.get(rank);
    if (!st) this.ranks.set(rank, (st = { streak: [], normal: 0 }));
    return st;
  }
}

function change(rank: number, kind: StragglerChange['kind'], step: number, [computeMs, othersMs, ratio]: WindowStat): StragglerChange {
  return { rank, kind, step, computeMs, othersMs, ratio };
}

/** The median of a non-empty list (mean of the middle two for an even length). */
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Each rank's median over a window of `steps` steps; ranks with fewer than half of them are left out. */
function windowMedians(samples: Map<number, number[]>, steps: number): Map<number, number> {
  const medians = new Map<number, number>();
  for (const [rank, ms] of samples) if (ms.length > 0 && ms.length * 2 >= steps) medians.set(rank, median(ms));
  return medians;
}

function periodMedians(stats: WindowStat[]): { computeMs: number; othersMs: number; ratio: number } {
  return { computeMs: median(stats.map((s) => s[0])), othersMs: median(stats.map((s) => s[1])), ratio: median(stats.map((s) => s[2])) };
}

/** Adds a window result to a period's sample, thinning it to every other kept one when it grows past MAX_PERIOD_WINDOWS. */
function offer(sampler: Sampler, stat: WindowStat): void {
  if (sampler.offered++ % sampler.stride !== 0) return;
  sampler.stats.push(stat);
  if (sampler.stats.length <= MAX_PERIOD_WINDOWS) return;
  sampler.stats = sampler.stats.filter((_, i) => i % 2 === 0);
  sampler.stride *= 2;
}

function copyStat(s: WindowStat): WindowStat {
  return [s[0], s[1], s[2]];
}

function periodToJSON(p: Period): unknown {
  if (p.sampler) return { rank: p.rank, sinceStep: p.sinceStep, windows: p.sampler.stats.map(copyStat), stride: p.sampler.stride, offered: p.sampler.offered };
  return { rank: p.rank, sinceStep: p.sinceStep, untilStep: p.untilStep, computeMs: p.computeMs, othersMs: p.othersMs, ratio: p.ratio };
}

function resolveOptions(opts: StragglerOptions): Required<StragglerOptions> {
  const o = { ...DEFAULTS, ...definedOnly(opts) };
  if (!Number.isInteger(o.window) || o.window < 1) throw new Error(`straggler option window must be an integer >= 1, not ${o.window}`);
  if (!Number.isFinite(o.ratio) || o.ratio <= 1) throw new Error(`straggler option ratio must be a number > 1, not ${o.ratio}`);
  if (!Number.isFinite(o.minExcessMs) || o.minExcessMs < 0) throw new Error(`straggler option minExcessMs must be a number >= 0, not ${o.minExcessMs}`);
  if (!Number.isInteger(o.windows) || o.windows < 1) throw new Error(`straggler option windows must be an integer >= 1, not ${o.windows}`);
  return o;
}

/** `opts` without its undefined fields, so that spreading it keeps the defaults. */
function definedOnly(opts: StragglerOptions): StragglerOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}

// --- reading state back (fromJSON) ---

function stateError(what: string): Error {
  return new Error(`invalid straggler detector state: ${what}`);
}

function record(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw stateError(`${what} is not an object`);
  return x as Record<string, unknown>;
}

function list(x: unknown, what: string): unknown[] {
  if (!Array.isArray(x)) throw stateError(`${what} is not an array`);
  return x;
}

function num(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw stateError(`${what} is not a finite number >= 0`);
  return x;
}

function int(x: unknown, what: string): number {
  if (!Number.isInteger(num(x, what))) throw stateError(`${what} is not an integer`);
  return x as number;
}

function readOptions(o: Record<string, unknown>): StragglerOptions {
  return { window: int(o.window, 'options.window'), ratio: num(o.ratio, 'options.ratio'), minExcessMs: num(o.minExcessMs, 'options.minExcessMs'), windows: int(o.windows, 'options.windows') };
}

function readStat(x: unknown, what: string): WindowStat {
  const a = list(x, what);
  if (a.length !== 3) throw stateError(`${what} does not have 3 numbers`);
  return [num(a[0], `${what}[0]`), num(a[1], `${what}[1]`), num(a[2], `${what}[2]`)];
}

function readSamples(x: unknown, seen: number): Map<number, number[]> {
  const samples = new Map<number, number[]>();
  list(x, 'samples').forEach((e, i) => {
    const s = record(e, `samples[${i}]`);
    const rank = int(s.rank, `samples[${i}].rank`);
    const ms = list(s.ms, `samples[${i}].ms`).map((v, j) => num(v, `samples[${i}].ms[${j}]`));
    if (samples.has(rank)) throw stateError(`rank ${rank} appears twice in samples`);
    if (ms.length > seen) throw stateError(`samples[${i}] has more samples (${ms.length}) than steps seen (${seen})`);
    samples.set(rank, ms);
  });
  return samples;
}

function readPeriod(x: unknown, what: string): Period {
  const p = record(x, what);
  const rank = int(p.rank, `${what}.rank`);
  const sinceStep = int(p.sinceStep, `${what}.sinceStep`);
  if (p.untilStep === undefined) {
    const stats = list(p.windows, `${what}.windows`).map((s, i) => readStat(s, `${what}.windows[${i}]`));
    if (stats.length === 0 || stats.length > MAX_PERIOD_WINDOWS) throw stateError(`${what}.windows has ${stats.length} entries, not 1 to ${MAX_PERIOD_WINDOWS}`);
    const stride = int(p.stride, `${what}.stride`);
    const offered = int(p.offered, `${what}.offered`);
    if (stride < 1 || offered < stats.length) throw stateError(`${what} has stride ${stride} and ${offered} windows offered for ${stats.length} kept`);
    return { rank, sinceStep, sampler: { stats, stride, offered }, computeMs: 0, othersMs: 0, ratio: 0 };
  }
  const untilStep = int(p.untilStep, `${what}.untilStep`);
  if (untilStep < sinceStep) throw stateError(`${what} ends (${untilStep}) before it starts (${sinceStep})`);
  return { rank, sinceStep, untilStep, computeMs: num(p.computeMs, `${what}.computeMs`), othersMs: num(p.othersMs, `${what}.othersMs`), ratio: num(p.ratio, `${what}.ratio`) };
}

function readRanks(x: unknown, windows: number, open: Map<number, Period>): Map<number, RankState> {
  const ranks = new Map<number, RankState>();
  list(x, 'ranks').forEach((e, i) => {
    const s = record(e, `ranks[${i}]`);
    const rank = int(s.rank, `ranks[${i}].rank`);
    const streak = list(s.streak, `ranks[${i}].streak`).map((t, j) => readStat(t, `ranks[${i}].streak[${j}]`));
    const normal = int(s.normal, `ranks[${i}].normal`);
    if (ranks.has(rank)) throw stateError(`rank ${rank} appears twice in ranks`);
    if (streak.length >= windows || normal >= windows) throw stateError(`ranks[${i}] has a streak past ${windows} windows`);
    if (open.has(rank) ? streak.length > 0 : normal > 0) throw stateError(`ranks[${i}] disagrees with the open records`);
    ranks.set(rank, { streak, normal });
  });
  for (const rank of open.keys()) if (!ranks.has(rank)) throw stateError(`the open record of rank ${rank} has no rank state`);
  return ranks;
}

/** summary.json's `stragglers`: each period a worker was one, with its host. */
export type StragglerSummary = (StragglerRecord & { host?: string })[];
