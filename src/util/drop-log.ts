/**
 * Logging dropped (malformed, unexpected) messages without letting a flood
 * fill the disk: the first `burst` of each interval are logged one by one,
 * the rest are counted and summed up in one line when the interval ends
 * (or at close). A stream of junk frames then costs a few lines a minute.
 */
export interface DropLogOptions {
  /** Lines logged one by one per interval. */
  burst: number;
  everyMs: number;
}

export type DropEmitter = (fields: Record<string, unknown>, msg: string) => void;

export const DROP_LOG_DEFAULTS: DropLogOptions = { burst: 5, everyMs: 10_000 };

export class DropLog {
  /** Every message dropped since the start. */
  total = 0;
  private logged = 0;
  private suppressed = 0;
  private lastReason = '';
  private windowStart = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: DropEmitter,
    private readonly o: DropLogOptions = DROP_LOG_DEFAULTS,
    /** The line logged for each drop; the summary says how many more. */
    private readonly what = 'dropped a malformed message',
  ) {}

  drop(reason: string, fields: Record<string, unknown> = {}): void {
    this.total++;
    if (Date.now() - this.windowStart >= this.o.everyMs) this.flush();
    if (this.logged < this.o.burst) {
      this.logged++;
      this.emit({ ...fields, reason, dropped: this.total }, this.what);
      return;
    }
    this.suppressed++;
    this.lastReason = reason;
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.o.everyMs - Date.now())).unref();
  }

  /** Sums up the interval's unlogged drops, if any, and starts a new interval. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed > 0) {
      this.emit({ suppressed: this.suppressed, lastReason: this.lastReason, dropped: this.total, seconds: Math.round((Date.now() - this.windowStart) / 1000) }, `${this.what}: ${this.suppressed} more (not logged one by one)`);
    }
    this.suppressed = 0;
    this.logged = 0;
    this.windowStart = Date.now();
  }

  close(): void {
    this.flush();
  }
}
