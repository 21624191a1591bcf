/**
 * Progress on the terminal: a redrawn bar on a TTY (step/total, loss,
 * samples/s, ETA), or a plain line every few seconds when output is a file
 * or a pipe. Silent when disabled (--json, tests).
 */
export interface ProgressUpdate {
  step: number;
  total: number;
  loss: number;
  samplesPerSecond: number;
}

/** What a progress listener hears (service mode forwards it on dtrain.jobs.<id>.progress). */
export type ProgressEvent =
  | ({ kind: 'step' } & ProgressUpdate)
  | { kind: 'count'; done: number; total: number; what: string; perSecond: number }
  | { kind: 'note'; text: string };

const PLAIN_EVERY_MS = 5000;

export class Progress {
  private started = Date.now();
  private lastPlain = 0;
  private drawn = false;
  /** Hears every update, count and note, drawn or not. */
  listener: ((e: ProgressEvent) => void) | undefined;

  constructor(
    private readonly out: NodeJS.WriteStream | undefined,
    private readonly label: string,
  ) {}

  update(u: ProgressUpdate): void {
    this.listener?.({ kind: 'step', ...u });
    this.draw(u.step, u.total, `step ${u.step}/${u.total}  loss ${u.loss.toFixed(4)}  ${Math.round(u.samplesPerSecond)} samples/s`);
  }

  /** Progress through `total` items of other work than training steps, e.g. test samples being attacked. */
  count(done: number, total: number, what: string, perSecond: number): void {
    this.listener?.({ kind: 'count', done, total, what, perSecond });
    this.draw(done, total, `${done}/${total} ${what}  ${Math.round(perSecond)}/s`);
  }

  private draw(done: number, total: number, what: string): void {
    if (!this.out) return;
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    const text = `${what}  ETA ${formatDuration(eta)}`;
    if (this.out.isTTY) {
      const width = Math.max(10, Math.min(30, (this.out.columns ?? 80) - text.length - this.label.length - 6));
      const filled = Math.round((width * done) / Math.max(1, total));
      this.out.write(`\r\x1b[2K${this.label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${text}`);
      this.drawn = true;
    } else if (Date.now() - this.lastPlain >= PLAIN_EVERY_MS || done === total) {
      this.lastPlain = Date.now();
      this.out.write(`${this.label} ${text}\n`);
    }
  }

  /** Starts the clock of the ETA afresh (a new stretch of work). */
  restart(): void {
    this.started = Date.now();
    this.lastPlain = 0;
  }

  /** Prints a line above the bar. */
  note(line: string): void {
    this.listener?.({ kind: 'note', text: line });
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
