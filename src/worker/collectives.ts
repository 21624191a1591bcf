/**
 * The compute thread's side of the collectives. `allReduceSync` blocks the
 * compute thread with Atomics.wait while the comm thread exchanges the shared
 * buffer: that is what lets a collective run inside a (synchronous) tfjs
 * gradient function. The others are the same exchange without blocking.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CTL_DONE_SEQ, type CollectiveOp, type CollectiveReply, type CollectiveRequest } from './comm-protocol.js';
import type { LocalUpdate } from './reducers/local-update.js';
import type { UpdateArgs } from './reducers/reducer.js';

export interface SharedBuffers {
  grads: Float32Array;
  params: Float32Array;
}

export class Collectives {
  private seq = 0;
  constructor(
    private readonly port: MessagePort,
    private readonly ctl: Int32Array,
    /** Workers in the job: with one, a sum is the identity and skips the comm thread. */
    private readonly size: number,
    /** Set when the strategy updates locally (reducers/make.ts: updatesLocally): sum, then this optimizer here. */
    private readonly local?: { update: LocalUpdate; buffers: SharedBuffers },
  ) {}

  /** The shared gradient buffer ← its sum over all workers, blocking this thread. */
  allReduceSync(): void {
    if (this.size === 1) return;
    const seq = this.request({ op: 'allReduce' });
    for (let done = Atomics.load(this.ctl, CTL_DONE_SEQ); done < seq; done = Atomics.load(this.ctl, CTL_DONE_SEQ)) {
      Atomics.wait(this.ctl, CTL_DONE_SEQ, done);
    }
    this.reply(seq);
  }

  async allReduce(): Promise<void> {
    if (this.size === 1) return;
    await this.exchange({ op: 'allReduce' });
  }

  /** One optimizer step of the job from the shared gradients; the shared parameters hold the result. */
  async update(args: UpdateArgs): Promise<void> {
    if (!this.local) return this.exchange({ op: 'update', args });
    await this.allReduce();
    this.local.update.apply(this.local.buffers.params, this.local.buffers.grads, args);
  }

  /** Brings the shared parameters up to the job's current ones (local updates keep them current). */
  async refresh(): Promise<void> {
    if (!this.local) await this.exchange({ op: 'refresh' });
  }

  private async exchange(req: CollectiveOp): Promise<void> {
    const seq = this.request(req);
    for (let done = Atomics.load(this.ctl, CTL_DONE_SEQ); done < seq; done = Atomics.load(this.ctl, CTL_DONE_SEQ)) {
      const w = Atomics.waitAsync(this.ctl, CTL_DONE_SEQ, done);
      if (w.async) await w.value;
    }
    this.reply(seq);
  }

  private request(req: CollectiveOp): number {
    const seq = ++this.seq;
    this.port.postMessage({ ...req, seq } as CollectiveRequest);
    return seq;
  }

  private reply(seq: number): void {
    const r = receiveMessageOnPort(this.port)?.message as CollectiveReply | undefined;
    if (!r || r.seq !== seq) throw new Error(`collective ${seq}: no matching reply from the comm thread`);
    if (r.error) throw new Error(`collective failed: ${r.error}`);
  }
}
