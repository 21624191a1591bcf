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
import { epochNow } from '../../observe/spans.js';
import { fromHalf, roundKeeping, type HalfFormat } from '../../tensor/half.js';

export interface RingOptions {
  rank: number;
  size: number;
  /** Sends to rank+1, receives from rank-1. */
  link: Channel;
  chunkBytes: number;
  /** The optimizer `update` applies after summing; a ring used only for sums needs none. */
  rule?: UpdateRule;
  onDrop?: DropHandler;
  /**
   * Gradient sums (allReduce with `compress`) travel as 16-bit floats, with
   * error feedback: what rounding took from this worker's gradient is added
   * to its next one (cluster.compression).
   */
  compression?: HalfFormat;
}

const mod = (a: number, n: number) => ((a % n) + n) % n;

export class RingReducer implements GradientReducer {
  private op = 0;
  private readonly local: LocalUpdate | undefined;
  /** Error feedback: per gradient range (by offset), what compression took from this worker's last contribution. */
  private readonly residuals = new Map<number, Float32Array>();
  firstReceivedAt: number | undefined;
  constructor(private readonly o: RingOptions) {
    if (o.size < 1 || o.rank < 0 || o.rank >= o.size) throw new RangeError(`rank ${o.rank} of ${o.size}`);
    this.local = o.rule && new LocalUpdate(o.rule);
  }

  /** Every replica sums over the ring, then runs the same optimizer step on the same sum. */
  async update(grads: Float32Array, params: Float32Array, u: UpdateArgs): Promise<void> {
    if (!this.local) throw new Error('this ring was built without an optimizer: it can only sum');
    await this.allReduce(grads, true);
    this.local.apply(params, grads, u);
  }

  /** Ring replicas are always current. */
  async refresh(): Promise<void> {}

  /**
   * `compress` (gradients, with cluster.compression): the ring carries 16-bit
   * floats. Whatever a worker sends that is not already a 16-bit value (its
   * own segment, a partial sum it forwards, the finished sum of the segment
   * it owns) it rounds first, keeps the rounded value itself, and adds what
   * the rounding took to its residual, which joins its gradient at the next
   * sum (error feedback): every replica ends with the same values, and over
   * steps nothing is lost.
   */
  async allReduce(buf: Float32Array, compress = false): Promise<void> {
    const { rank: r, size: n, link } = this.o;
    const op = this.op++;
    if (n === 1 || buf.length === 0) return;
    const half = compress ? this.o.compression : undefined;
    const residual = half ? this.residualFor(buf) : undefined;
    /** Rounds `data` (positions [a, b) of buf) to 16 bits in place, the residual keeping what that took: the bytes to send. */
    const round = (data: Float32Array, a: number) => {
      const h = roundKeeping(half!, data, residual!, a);
      return new Uint8Array(h.buffer);
    };
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
    const heard = new FirstWord();
    // With compression the payload is the 16-bit bytes, else the float32 values themselves.
    const send = (k: number, c: number, payload: Float32Array | Uint8Array) => sends.push(link.send(encode({ type: 'ring', op, step: k, chunk: c }, [payload])));
    chunks(sendSeg(0)).forEach(([a, b], c) => send(0, c, half ? round(buf.subarray(a, b), a) : buf.subarray(a, b)));
    for (let k = 0; k < steps; k++) {
      const list = chunks(recvSeg(k));
      for (let c = 0; c < list.length; c++) {
        const [a, b] = list[c];
        const { data, raw } = await this.receiveChunk(op, k, c, b - a, half);
        heard.chunk(b - a);
        let payload: Float32Array | Uint8Array = data;
        if (k < reduceSteps) {
          addInto(data, buf.subarray(a, b));
          // A partial sum to forward, or the finished sum this worker owns: rounded as it will travel.
          if (half) payload = round(data, a);
        } else if (half) payload = raw; // all-gather: 16-bit values already, forwarded as they came
        // The last reduce-scatter step completes this segment; all-gather delivers final values.
        if (k >= reduceSteps - 1) buf.set(data, a);
        if (k + 1 < steps) send(k + 1, c, payload);
      }
    }
    await Promise.all(sends);
    this.firstReceivedAt = heard.estimate();
  }

  /** Adds the residual of the last sum of this range (by its offset in the buffer) into `buf`, and returns it cleared for this sum. */
  private residualFor(buf: Float32Array): Float32Array {
    const key = buf.byteOffset;
    let e = this.residuals.get(key);
    if (!e || e.length !== buf.length) this.residuals.set(key, (e = new Float32Array(buf.length)));
    addInto(buf, e);
    e.fill(0);
    return e;
  }

  /** The next chunk, checked to be the expected one; with compression, its values decoded and its bytes as they came. */
  private async receiveChunk(op: number, step: number, chunk: number, len: number, half?: HalfFormat): Promise<{ data: Float32Array; raw: Uint8Array | Float32Array }> {
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
      const raw = msg.tensors[0];
      if (h.type !== 'ring' || !(half ? raw instanceof Uint8Array : raw instanceof Float32Array)) {
        this.o.onDrop?.(`ring: unexpected ${h.type} message`);
        continue;
      }
      const got = half ? raw.length / 2 : raw.length;
      // A well-formed chunk out of sequence means the ranks disagree on the collective: not recoverable.
      if (h.op !== op || h.step !== step || h.chunk !== chunk || got !== len) {
        throw new ProtocolError(`ring out of step: expected op ${op} step ${step} chunk ${chunk} (${len} values), got op ${h.op} step ${h.step} chunk ${h.chunk} (${got})`);
      }
      return { data: half ? unpackHalf(half, raw as Uint8Array, len) : (raw as Float32Array), raw: raw as Uint8Array | Float32Array };
    }
  }

  close(): void {
    this.o.link.close();
  }
}

function unpackHalf(half: HalfFormat, bytes: Uint8Array, len: number): Float32Array {
  // The frame may sit at an odd offset: copy it out aligned.
  const h = new Uint16Array(len);
  new Uint8Array(h.buffer).set(bytes);
  const out = new Float32Array(len);
  fromHalf(half, h, out);
  return out;
}

/**
 * When a collective first heard from its neighbour: the arrival of its first
 * chunk, less the time that chunk took to arrive, estimated from the rate of
 * the chunks after it (a chunk is received whole, so its arrival time
 * includes its transfer). Before that moment the worker was waiting for the
 * others.
 */
class FirstWord {
  private first: { at: number; values: number } | undefined;
  private values = 0;
  chunk(values: number): void {
    this.first ??= { at: epochNow(), values };
    this.values += values;
  }
  estimate(): number | undefined {
    if (!this.first) return undefined;
    const rest = this.values - this.first.values;
    if (rest <= 0) return this.first.at;
    const perValue = (epochNow() - this.first.at) / rest;
    return this.first.at - this.first.values * perValue;
  }
}
