/**
 * A parameter-server shard: owns one contiguous slice of the flat parameters
 * and the optimizer state for it, and serves the workers' requests on a hub
 * (a ZeroMQ ROUTER, or memory in tests). See worker/reducers/ps.ts for the
 * worker's side of each exchange.
 *
 * Synchronous rounds are keyed by the workers' op counter and summed in rank
 * order, whatever order the slices arrive in, so a re-run gives the same
 * bits. Replies of the parameter slice are sent without copying in
 * synchronous mode: the slice next changes when every worker has pushed
 * again, which each does only after receiving this reply. Under bounded
 * staleness another worker's update can land while a reply is in flight, so
 * there the reply is a copy.
 */
import { DtrainError, errorMessage } from '../util/errors.js';
import type { OptimizerSpec } from '../spec/job-spec.js';
import { makeOptimizer, type FlatOptimizer, type OptimizerState } from '../tensor/optimizers/index.js';
import { encode, type TypedArray } from '../wire/codec.js';
import type { Header, Message } from '../wire/messages.js';
import { hubMessages } from '../wire/receive.js';
import type { Hub } from '../wire/transport.js';
import { addInto } from '../tensor/vector.js';

export interface ShardConfig {
  index: number;
  workers: number;
  optimizer: OptimizerSpec;
  clipNorm?: number;
  /** Set: apply each gradient as it arrives (bounded staleness). */
  staleness?: number;
  /** The shard's initial parameter slice. */
  initial: Float32Array;
  /** Resuming: the optimizer state of the slice. */
  optimizerState?: OptimizerState;
  /** Each rank's connection identity (ps/peer-id.ts); absent, the first connection to send a rank takes it. */
  peers?: string[];
}

/** A round the workers disagree on: everyone in it, now or later, gets the error. */
export class RoundError extends DtrainError {
  override readonly code = 'PS_ROUND';
}

interface Round {
  kind: 'psSum' | 'psUpdate';
  parts: (Float32Array | undefined)[];
  arrived: number;
  lr: number;
  scale: number;
  /** psUpdate with clipping: the summed gradient, waiting for the workers' clip factors. */
  sum?: Float32Array;
  factors?: (number | undefined)[];
  agreed?: number;
}

export class PsShard {
  readonly params: Float32Array;
  /** Optimizer steps applied (a synchronous round counts once). */
  applied = 0;
  dropped = 0;
  private readonly optimizer: FlatOptimizer;
  private readonly rounds = new Map<number, Round>();
  /** Ops whose round failed, with the reason, for workers that have not sent theirs yet. */
  private readonly failed = new Map<number, { message: string; told: number }>();
  private readonly peers: (string | undefined)[];

  constructor(
    private readonly hub: Hub,
    private readonly cfg: ShardConfig,
    private readonly onDrop: (reason: string) => void = () => undefined,
  ) {
    this.params = cfg.initial.slice();
    this.optimizer = makeOptimizer(cfg.optimizer, this.params.length);
    if (cfg.optimizerState) this.optimizer.loadStateDict(cfg.optimizerState);
    this.peers = new Array<string | undefined>(cfg.workers);
  }

  get index(): number {
    return this.cfg.index;
  }

  /** The slice's optimizer state (a checkpoint takes it between steps, when no round is open). */
  optimizerState(): OptimizerState {
    return this.optimizer.stateDict();
  }

  /** Serves requests until the hub closes. */
  async serve(): Promise<void> {
    for await (const { peer, message: m } of hubMessages(this.hub, (p, reason) => this.drop(`from ${p}: ${reason}`))) {
      // Strangers are not heard at all: a valid-looking request from one could take a worker's rank, or a failed round's place.
      if (this.cfg.peers && !this.cfg.peers.includes(peer)) {
        this.drop(`from ${peer}: not one of the job's workers`);
        continue;
      }
      const op = 'op' in m.header ? Number(m.header.op) : 0;
      try {
        const earlier = this.failed.get(op);
        if (earlier) await this.failLate(peer, op, earlier);
        else await this.handle(peer, m);
      } catch (err) {
        // A request that cannot be served is the worker's error to report: tell it (and,
        // when a whole round is spoiled, everyone in it), keep serving.
        this.drop(`from ${peer}: ${errorMessage(err)}`);
        if (err instanceof RoundError) await this.failRound(op, peer, err.message);
        else await this.send(peer, { type: 'psError', op, message: errorMessage(err) });
      }
    }
  }

  close(): void {
    this.hub.close();
  }

  private async failRound(op: number, sender: string, message: string): Promise<void> {
    const round = this.rounds.get(op);
    this.rounds.delete(op);
    const waiting = new Set([sender]);
    round?.parts.forEach((p, r) => p && this.peers[r] !== undefined && waiting.add(this.peers[r]));
    round?.factors?.forEach((f, r) => f !== undefined && this.peers[r] !== undefined && waiting.add(this.peers[r]));
    if (waiting.size < this.cfg.workers) this.failed.set(op, { message, told: waiting.size });
    await Promise.all([...waiting].map((p) => this.send(p, { type: 'psError', op, message })));
  }

  private async failLate(peer: string, op: number, f: { message: string; told: number }): Promise<void> {
    if (++f.told >= this.cfg.workers) this.failed.delete(op);
    await this.send(peer, { type: 'psError', op, message: f.message });
  }

  private async handle(peer: string, m: Message): Promise<void> {
    const h = m.header;
    if (h.type !== 'psSum' && h.type !== 'psUpdate' && h.type !== 'psClip' && h.type !== 'psPull') throw new Error(`unexpected ${h.type} message`);
    this.bindRank(peer, h.rank);
    if (h.type === 'psPull') return this.send(peer, { type: 'psSlice', op: h.op }, [this.params.slice()]);
    if (h.type === 'psClip') return this.clip(h);
    const part = m.tensors[0];
    if (!(part instanceof Float32Array)) throw new Error(`${h.type}: expected float32 values`);
    if (h.type === 'psUpdate' && part.length !== this.params.length) throw new Error(`psUpdate: ${part.length} values for a slice of ${this.params.length}`);
    if (h.type === 'psUpdate' && this.cfg.staleness !== undefined) {
      this.optimizer.step(this.params, part, h.lr, h.scale);
      this.applied++;
      return this.send(peer, { type: 'psSlice', op: h.op }, [this.params.slice()]);
    }
    const round = this.join(h, part);
    if (round.arrived < this.cfg.workers) return;
    const sum = round.parts[0]!;
    for (let r = 1; r < round.parts.length; r++) addInto(sum, round.parts[r]!);
    round.parts = [];
    if (round.kind === 'psSum') {
      this.rounds.delete(h.op);
      return this.broadcast({ type: 'psSlice', op: h.op }, [sum]);
    }
    if (this.cfg.clipNorm === undefined) return this.apply(h.op, round, sum, 1);
    let sq = 0;
    for (let i = 0; i < sum.length; i++) sq += sum[i] * sum[i];
    round.sum = sum;
    round.factors = new Array<number | undefined>(this.cfg.workers);
    round.agreed = 0;
    return this.broadcast({ type: 'psNorm', op: h.op, sq });
  }

  /** Adds a worker's part to the round of its op, checking that it matches the others'. */
  private join(h: Header<'psSum' | 'psUpdate'>, part: Float32Array): Round {
    let round = this.rounds.get(h.op);
    const lr = h.type === 'psUpdate' ? h.lr : 0;
    const scale = h.type === 'psUpdate' ? h.scale : 0;
    if (!round) {
      round = { kind: h.type, parts: new Array<Float32Array | undefined>(this.cfg.workers), arrived: 0, lr, scale };
      this.rounds.set(h.op, round);
    }
    if (round.kind !== h.type) throw new RoundError(`op ${h.op}: worker ${h.rank} sent ${h.type} where others sent ${round.kind}`);
    if (round.parts[h.rank] || round.sum) throw new Error(`op ${h.op}: worker ${h.rank} sent twice`);
    const first = round.parts.find((p) => p !== undefined);
    if (first && first.length !== part.length) throw new RoundError(`op ${h.op}: worker ${h.rank} sent ${part.length} values, others ${first.length}`);
    if (round.lr !== lr || round.scale !== scale) throw new RoundError(`op ${h.op}: worker ${h.rank} disagrees on the learning rate or batch (${lr}, ${scale} vs ${round.lr}, ${round.scale})`);
    round.parts[h.rank] = part;
    round.arrived++;
    return round;
  }

  private async clip(h: Header<'psClip'>): Promise<void> {
    const round = this.rounds.get(h.op);
    if (!round?.sum || !round.factors) throw new Error(`psClip for op ${h.op}, which is not waiting for a clipping factor`);
    if (round.factors[h.rank] !== undefined) throw new Error(`op ${h.op}: worker ${h.rank} sent its clipping factor twice`);
    const first = round.factors.find((f) => f !== undefined);
    if (first !== undefined && first !== h.factor) throw new RoundError(`op ${h.op}: workers disagree on the clipping factor (${first} vs ${h.factor})`);
    round.factors[h.rank] = h.factor;
    if (++round.agreed! < this.cfg.workers) return;
    return this.apply(h.op, round, round.sum, h.factor);
  }

  private apply(op: number, round: Round, sum: Float32Array, factor: number): Promise<void> {
    this.rounds.delete(op);
    this.optimizer.step(this.params, sum, round.lr, round.scale * factor);
    this.applied++;
    return this.broadcast({ type: 'psSlice', op }, [this.params]);
  }

  private bindRank(peer: string, rank: number): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.cfg.workers) throw new Error(`rank ${rank} is not one of the job's ${this.cfg.workers} workers`);
    if (this.cfg.peers && this.cfg.peers[rank] !== peer) throw new Error(`rank ${rank} belongs to another worker's connection`);
    const known = this.peers[rank];
    if (known === undefined) this.peers[rank] = peer;
    else if (known !== peer) throw new Error(`rank ${rank} already belongs to another connection`);
  }

  private async broadcast(header: Header, tensors: TypedArray[] = []): Promise<void> {
    await Promise.all(this.peers.map((p) => p !== undefined && this.send(p, header, tensors)));
  }

  private send(peer: string, header: Header, tensors: TypedArray[] = []): Promise<void> {
    return this.hub.send(peer, encode(header, tensors));
  }

  private drop(reason: string): void {
    this.dropped++;
    this.onDrop(reason);
  }
}
