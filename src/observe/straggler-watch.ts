/**
 * Straggler detection on a running job: feeds every step's compute times to
 * the detector (stragglers.ts), logs each worker named a straggler or
 * cleared, tells the dashboard, and gives summary.json its `stragglers`.
 */
import type { Logger } from '../util/log.js';
import type { JobObserver, StepReport } from './observer.js';
import { StragglerDetector, type StragglerChange, type StragglerSummary } from './stragglers.js';

export class StragglerWatch implements JobObserver {
  private readonly detector = new StragglerDetector();
  private readonly hosts = new Map<number, string>();

  constructor(
    private readonly log: Logger,
    /** Hears every change, with the ranks named now and every period so far. */
    private readonly onChange: (current: number[], records: StragglerSummary) => void = () => undefined,
  ) {}

  step(step: number, reports: StepReport[]): void {
    for (const r of reports) if (r.host !== undefined) this.hosts.set(r.rank, r.host);
    const changes = this.detector.observe(step, reports.filter((r) => !r.skipped));
    for (const c of changes) this.note(c);
    if (changes.length > 0) this.onChange(this.detector.current(), this.summary());
  }

  summary(): StragglerSummary {
    return this.detector.records().map((r) => ({ ...r, ...(this.hosts.has(r.rank) ? { host: this.hosts.get(r.rank) } : {}) }));
  }

  private note(c: StragglerChange): void {
    const who = `worker #${c.rank}${this.hosts.has(c.rank) ? ` on ${this.hosts.get(c.rank)}` : ''}`;
    const times = { worker: c.rank, step: c.step + 1, computeMs: round(c.computeMs), othersMs: round(c.othersMs), ratio: round(c.ratio) };
    if (c.kind === 'straggler') this.log.warn(times, `${who} is a straggler: its compute takes ${round(c.ratio)}× the others' (${round(c.computeMs)} ms against ${round(c.othersMs)} ms a step); every step waits for it`);
    else this.log.info(times, `${who} keeps pace again`);
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
