/**
 * Progress on the terminal: a redrawn bar on a TTY (step/total, loss,
 * samples/s, ETA), or a plain line every few seconds when output is a file
 * or a pipe. Silent when disabled (--json, tests).
 *
 * The ETA comes from the rate of the last RATE_WINDOW_MS of updates, not
 * from the start: the first updates pay for start-up (processes, backend,
 * the first compiled kernels), so a rate measured from the start said 5
 * minutes at step 1 of a 6-second job. Until WARMUP_UPDATES updates have
 * come after the first, there is no ETA.
 */
export interface ProgressUpdate {
  /** Steps done, or `unit`s done (a GAN counts iterations). */
  step: number;
  total: number;
  loss: number;
  samplesPerSecond: number;
  /** What `step` counts when it is not training steps, e.g. "iteration". */
  unit?: string;
  /** Several losses by name (a GAN's discriminator and generator); `loss` is then the first. */
  losses?: Record<string, number>;
}

/** What a progress listener hears (service mode forwards it on dtrain.jobs.<id>.progress). */
export type ProgressEvent =
  | ({ kind: 'step' } & ProgressUpdate)
  | { kind: 'count'; done: number; total: number; what: string; perSecond: number }
  | { kind: 'note'; text: string };

const PLAIN_EVERY_MS = 5000;
const RATE_WINDOW_MS = 20_000;
const WARMUP_UPDATES = 3;

/** A terminal, or what tests give in its place. */
export type ProgressOut = Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'>;

export class Progress {
  private lastPlain = 0;
  private drawn = false;
  /** (time, done) of the updates since the first, oldest first, within the rate window. */
  private points: { t: number; done: number }[] = [];
  private seen = 0;
  /** Hear every update, count and note, drawn or not (the service's feed, the dashboard, a library caller). */
  private readonly listeners = new Set<(e: ProgressEvent) => void>();

  constructor(
    private readonly out: ProgressOut | undefined,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds a listener; returns what removes it. */
  listen(l: (e: ProgressEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private tell(e: ProgressEvent): void {
    for (const l of this.listeners) l(e);
  }

  update(u: ProgressUpdate): void {
    this.tell({ kind: 'step', ...u });
    const losses = u.losses ? Object.entries(u.losses).map(([name, v]) => `${name} loss ${v.toFixed(4)}`) : [`loss ${u.loss.toFixed(4)}`];
    this.draw(u.step, u.total, `${u.unit ?? 'step'} ${u.step}/${u.total}  ${losses.join('  ')}  ${Math.round(u.samplesPerSecond)} samples/s`);
  }

  /** Progress through `total` items of other work than training steps, e.g. test samples being attacked. */
  count(done: number, total: number, what: string, perSecond: number): void {
    this.tell({ kind: 'count', done, total, what, perSecond });
    this.draw(done, total, `${done}/${total} ${what}  ${Math.round(perSecond)}/s`);
  }

  /** Seconds left at the recent rate; undefined during warm-up. */
  eta(done: number, total: number): number | undefined {
    const t = this.now();
    // Start-up is paid before the first update: the rate is measured from it on.
    this.seen++;
    this.points.push({ t, done });
    while (this.points.length > 2 && t - this.points[0].t > RATE_WINDOW_MS) this.points.shift();
    if (this.seen <= WARMUP_UPDATES + 1) return undefined;
    const first = this.points[0];
    const rate = (done - first.done) / ((t - first.t) / 1000);
    return rate > 0 ? (total - done) / rate : undefined;
  }

  private draw(done: number, total: number, what: string): void {
    const eta = this.eta(done, total);
    if (!this.out) return;
    const text = eta === undefined ? what : `${what}  ETA ${formatDuration(eta)}`;
    if (this.out.isTTY) {
      const width = Math.max(10, Math.min(30, (this.out.columns ?? 80) - text.length - this.label.length - 6));
      const filled = Math.round((width * done) / Math.max(1, total));
      this.out.write(`\r\x1b[2K${this.label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${text}`);
      this.drawn = true;
    } else if (this.now() - this.lastPlain >= PLAIN_EVERY_MS || done === total) {
      this.lastPlain = this.now();
      this.out.write(`${this.label} ${text}\n`);
    }
  }

  /** Starts the clock of the ETA afresh (a new stretch of work). */
  restart(): void {
    this.points = [];
    this.seen = 0;
    this.lastPlain = 0;
  }

  /** Prints a line above the bar. */
  note(line: string): void {
    this.tell({ kind: 'note', text: line });
    if (!this.out) return;
    if (this.drawn && this.out.isTTY) this.out.write('\r\x1b[2K');
    this.out.write(`${line}\n`);
  }

  done(): void {
    if (this.drawn && this.out?.isTTY) this.out.write('\n');
    this.drawn = false;
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--';
  const t = Math.round(s); // round once, so 179.6 s reads 3m00s, not 2m60s
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}
