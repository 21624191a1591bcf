/**
 * The compute thread's side of the collectives. `allReduceSync` blocks the
 * compute thread with Atomics.wait while the comm thread exchanges the shared
 * buffer: that is what lets a collective run inside a (synchronous) tfjs
 * gradient function. `allReduce` is the same exchange without blocking.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CTL_DONE_SEQ, type CollectiveReply, type CollectiveRequest } from './comm-protocol.js';

export class Collectives {
  private seq = 0;
  constructor(
    private readonly port: MessagePort,
    private readonly ctl: Int32Array,
    /** Workers in the job: with one, a collective is the identity and skips the comm thread. */
    private readonly size: number,
  ) {}

  allReduceSync(): void {
    if (this.size === 1) return;
    const seq = this.request();
    for (let done = Atomics.load(this.ctl, CTL_DONE_SEQ); done < seq; done = Atomics.load(this.ctl, CTL_DONE_SEQ)) {
      Atomics.wait(this.ctl, CTL_DONE_SEQ, done);
    }
    this.reply(seq);
  }

  async allReduce(): Promise<void> {
    if (this.size === 1) return;
    const seq = this.request();
    for (let done = Atomics.load(this.ctl, CTL_DONE_SEQ); done < seq; done = Atomics.load(this.ctl, CTL_DONE_SEQ)) {
      const w = Atomics.waitAsync(this.ctl, CTL_DONE_SEQ, done);
      if (w.async) await w.value;
    }
    this.reply(seq);
  }

  private request(): number {
    const req: CollectiveRequest = { op: 'allReduce', seq: ++this.seq };
    this.port.postMessage(req);
    return req.seq;
  }

  private reply(seq: number): void {
    const r = receiveMessageOnPort(this.port)?.message as CollectiveReply | undefined;
    if (!r || r.seq !== seq) throw new Error(`collective ${seq}: no matching reply from the comm thread`);
    if (r.error) throw new Error(`all-reduce failed: ${r.error}`);
  }
}
