/**
 * Ring all-reduce: reduce-scatter then all-gather over N workers, N-1 steps
 * each, so every worker sends 2(N-1)/N of the buffer (bandwidth-optimal).
 *
 * The buffer is cut into N segments, each segment into chunks of at most
 * `chunkBytes`. Step k sends segment sendSeg(k) to the right neighbour and
 * receives recvSeg(k) from the left, adding (reduce-scatter, k < N-1) or
 * copying (all-gather). Because recvSeg(k) = sendSeg(k+1), each chunk is
 * forwarded the moment it has been received and added: sending, receiving
 * and adding overlap chunk by chunk.
 *
 * Buffer safety and copies: zeromq.js sends large frames zero-copy, reading
 * the memory later on its I/O thread, and it receives zero-copy into buffers
 * it hands over to us. So partial sums are formed in the RECEIVED buffer
 * (received += ours) and that buffer is forwarded as it is; all-gather
 * forwards received buffers untouched. Those buffers are never written after
 * they are sent. The caller's buffer is sent from only at step 0 (our own
 * contribution); that region is next written when its reduced value comes
 * back round the ring, which cannot happen before the neighbour received
 * what we sent. Hence once allReduce returns no socket reads the caller's
 * buffer, and no chunk is copied except into it.
 */
import { ProtocolError } from '../../util/errors.js';
import { encode } from '../../wire/codec.js';
import { parseMessage } from '../../wire/messages.js';
import { ClosedError, type Channel } from '../../wire/transport.js';
import { LocalUpdate } from './local-update.js';
import type { DropHandler, GradientReducer, UpdateArgs, UpdateRule } from './reducer.js';
import { addInto } from '../../tensor/vector.js';

export interface RingOptions {
  rank: number;
  size: number;
  /** Sends to rank+1, receives from rank-1. */
  link: Channel;
  chunkBytes: number;
  /** The optimizer `update` applies after summing; a ring used only for sums needs none. */
  rule?: UpdateRule;
  onDrop?: DropHandler;
}

const mod = (a: number, n: number) => ((a % n) + n) % n;

export class RingReducer implements GradientReducer {
  private op = 0;
  private readonly local: LocalUpdate | undefined;
  constructor(private readonly o: RingOptions) {
    if (o.size < 1 || o.rank < 0 || o.rank >= o.size) throw new RangeError(`rank ${o.rank} of ${o.size}`);
    this.local = o.rule && new LocalUpdate(o.rule);
  }

  /** Every replica sums over the ring, then runs the same optimizer step on the same sum. */
  async update(grads: Float32Array, params: Float32Array, u: UpdateArgs): Promise<void> {
    if (!this.local) throw new Error('this ring was built without an optimizer: it can only sum');
    await this.allReduce(grads);
    this.local.apply(params, grads, u);
  }

  /** Ring replicas are always current. */
  async refresh(): Promise<void> {}

  async allReduce(buf: Float32Array): Promise<void> {
    const { rank: r, size: n, link } = this.o;
    const op = this.op++;
    if (n === 1 || buf.length === 0) return;
    const chunkElems = Math.max(1, Math.floor(this.o.chunkBytes / 4));
    const segStart = (s: number) => Math.floor((s * buf.length) / n);
    const chunks = (s: number) => {
      const out: [number, number][] = [];
      const end = segStart(s + 1);
      for (let a = segStart(s); a < end; a += chunkElems) out.push([a, Math.min(end, a + chunkElems)]);
      return out;
    };
    const steps = 2 * (n - 1);
    const reduceSteps = n - 1;
    const sendSeg = (k: number) => (k < reduceSteps ? mod(r - k, n) : mod(r + 1 - (k - reduceSteps), n));
    const recvSeg = (k: number) => (k < reduceSteps ? mod(r - k - 1, n) : mod(r - (k - reduceSteps), n));
    const sends: Promise<void>[] = [];
    const send = (k: number, c: number, data: Float32Array) => sends.push(link.send(encode({ type: 'ring', op, step: k, chunk: c }, [data])));
    chunks(sendSeg(0)).forEach(([a, b], c) => send(0, c, buf.subarray(a, b)));
    for (let k = 0; k < steps; k++) {
      const list = chunks(recvSeg(k));
      for (let c = 0; c < list.length; c++) {
        const [a, b] = list[c];
        const data = await this.receiveChunk(op, k, c, b - a);
        if (k < reduceSteps) addInto(data, buf.subarray(a, b));
        // The last reduce-scatter step completes this segment; all-gather delivers final values.
        if (k >= reduceSteps - 1) buf.set(data, a);
        if (k + 1 < steps) send(k + 1, c, data);
      }
    }
    await Promise.all(sends);
  }

  private async receiveChunk(op: number, step: number, chunk: number, len: number): Promise<Float32Array> {
    for (;;) {
      let frames;
      try {
        frames = await this.o.link.receive();
      } catch (err) {
        if (err instanceof ClosedError) throw new ProtocolError('ring closed during an all-reduce', { cause: err });
        throw err;
      }
      let msg;
      try {
        msg = parseMessage(frames);
      } catch (err) {
        this.o.onDrop?.(`ring: ${(err as Error).message}`);
        continue;
      }
      const h = msg.header;
      const data = msg.tensors[0];
      if (h.type !== 'ring' || !(data instanceof Float32Array)) {
        this.o.onDrop?.(`ring: unexpected ${h.type} message`);
        continue;
      }
      // A well-formed chunk out of sequence means the ranks disagree on the collective: not recoverable.
      if (h.op !== op || h.step !== step || h.chunk !== chunk || data.length !== len) {
        throw new ProtocolError(`ring out of step: expected op ${op} step ${step} chunk ${chunk} (${len} floats), got op ${h.op} step ${h.step} chunk ${h.chunk} (${data.length})`);
      }
      return data;
    }
  }

  close(): void {
    this.o.link.close();
  }
}
