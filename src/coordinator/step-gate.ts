/**
 * Which step commands may go out. Worker w may be sent step t once
 * t ≤ (steps finished by the slowest worker) + ahead. Synchronous strategies
 * use ahead = 1: the next command is already queued when a step ends, which
 * hides the round trip to the coordinator. Bounded staleness uses ahead = s:
 * no worker runs more than s steps ahead of the slowest.
 */
export class StepGate {
  private readonly done: number[];
  private readonly sent: number[];
  /** Steps finished by every worker. */
  completed = 0;

  /**
   * `first`: the step to start from (a resumed run's). `barrier(t)`: no
   * command for a step after t goes out until every worker has finished t
   * (a checkpoint is taken there); asked once t is the last step that may
   * go out before later ones.
   */
  constructor(
    workers: number,
    private readonly total: number,
    private readonly ahead: number,
    first = 0,
    private readonly barrier: (step: number) => boolean = () => false,
  ) {
    if (workers < 1 || ahead < 0 || first < 0) throw new RangeError(`gate of ${workers} workers, ${ahead} ahead, from step ${first}`);
    this.done = new Array<number>(workers).fill(first);
    this.sent = new Array<number>(workers).fill(first);
    this.completed = first;
  }

  /** Commands that may go out now, as [worker, step], in step order; marks them sent. */
  release(): [number, number][] {
    const out: [number, number][] = [];
    let limit = Math.min(this.total - 1, this.completed + this.ahead);
    for (let t = this.completed; t < limit; t++) {
      if (this.barrier(t)) limit = t;
    }
    for (let t = Math.min(...this.sent); t <= limit; t++) {
      for (let w = 0; w < this.sent.length; w++) {
        if (this.sent[w] === t) {
          out.push([w, t]);
          this.sent[w]++;
        }
      }
    }
    return out;
  }

  /** Records that worker w finished `step` (its next one); returns the steps now finished by every worker. */
  finish(w: number, step: number): number[] {
    if (step !== this.done[w]) throw new Error(`worker #${w} reported step ${step}, expected ${this.done[w]}`);
    if (step >= this.sent[w]) throw new Error(`worker #${w} reported step ${step} before it was sent`);
    this.done[w]++;
    const before = this.completed;
    this.completed = Math.min(...this.done);
    return Array.from({ length: this.completed - before }, (_, i) => before + i);
  }

}
