/**
 * A job type is a step program on each worker: given the models, the shard
 * and the collectives, it produces the updates. Each job type builds its
 * own (src/jobs/<type>/); the worker's loop drives any of them.
 */
import type { TypedArray } from '../wire/codec.js';
import type { LocalUpdate } from './reducers/local-update.js';
import type { UpdateArgs } from './reducers/reducer.js';
import type { SpanBuffer } from '../observe/spans.js';
import type { EvalSplit } from '../data/dataset.js';

export interface StepCommand {
  step: number;
  epoch: number;
  lr: number;
  /** Size of the whole step's batch across all workers: the divisor of the summed gradient. */
  globalBatch: number;
  /** Global indices of this worker's samples. */
  indices: Int32Array;
  /** Where this worker's shard starts in the global batch (keys per-sample noise). */
  offset?: number;
}

/** Sums over a worker's samples that the coordinator adds up over the workers; the job type names them (e.g. `correct`). */
export type Counts = Record<string, number>;

export interface StepResult {
  lossSum: number;
  count: number;
  computeMs: number;
  commMs: number;
  /** The job type's own per-step sums. */
  counts: Counts;
  /** The update was skipped (train.onNonFinite skip-step): nothing changed; lossSum and count are 0. */
  skipped?: boolean;
}

export interface EvalResult {
  lossSum: number;
  count: number;
  /** The job type's own sums over the evaluated samples. */
  counts: Counts;
}

export interface StepProgram {
  readonly paramCount: number;
  train(cmd: StepCommand): Promise<StepResult>;
  /**
   * `clean`: the model's loss and counts alone, without a job type's extra
   * evaluation (an adversarial job's attacks). `split`: the samples the
   * indices are of (default the test split).
   */
  evaluate(indices: Int32Array, opts?: { clean?: boolean; split?: EvalSplit }): EvalResult | Promise<EvalResult>;
  /** The flat parameters, identical on every replica. */
  params(): TypedArray;
  /** The model's non-trainable state (batch-norm moving statistics), flat. */
  state(): Float32Array;
  /** Makes every replica's state rank 0's before an evaluation, where replicas can differ; all workers call it together. */
  agreeState(): Promise<void>;
  /** The optimizers the program applies itself (a GAN's, one per network), whose state a checkpoint keeps. */
  readonly ownOptimizers?: LocalUpdate[];
  /** Whether its gradient sums start during the backward pass (ProgramDeps.startSum). */
  readonly overlapping?: boolean;
}

/** What the worker gives a job type's step program: the shared buffers and the collectives over them. */
export interface ProgramDeps {
  /** The flat parameters of all the job's networks, shared with the comm thread; they start as the coordinator's initial values. */
  params: Float32Array;
  /** The flat gradient buffer, shared with the comm thread. */
  grads: Float32Array;
  /**
   * Sends `grads` into the job's update (ring or ps, with the job's update
   * rule); `params` hold the result when it resolves. `started`: every part of
   * `grads` went to `startSum` already; only those sums are awaited.
   */
  update(args: UpdateArgs, started?: boolean): Promise<boolean>;
  /**
   * Where the strategy can sum while compute goes on (ring) and the job asks
   * for it (cluster.overlap): starts summing grads[offset, offset + length)
   * over the workers and returns at once. Every worker must start the same
   * ranges in the same order.
   */
  startSum?: (offset: number, length: number) => void;
  /** The size of the buckets a program hands to startSum (cluster.overlapBytes). */
  overlapBytes: number;
  /** Sums grads[offset, offset + length) over the workers, for a job type that updates each network itself. */
  sumRange(offset: number, length: number): Promise<void>;
  /** Rank 0's values on every worker (all call it together). */
  broadcastState(values: Float32Array): Promise<Float32Array>;
  /** The worker's timeline: a program adds its data and forward/backward spans. */
  spans?: SpanBuffer;
}
