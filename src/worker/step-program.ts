/**
 * A job type is a step program: given the models, the shard and the
 * collectives, it produces the updates. Adding a job type adds a file.
 */
import type { TypedArray } from '../wire/codec.js';

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

export interface StepResult {
  lossSum: number;
  count: number;
  correct: number;
  computeMs: number;
  commMs: number;
}

export interface EvalResult {
  lossSum: number;
  count: number;
  correct: number;
  /** Adversarial jobs: samples still classified right under FGSM and under PGD-k at the job's ε. */
  fgsmCorrect?: number;
  pgdCorrect?: number;
}

export interface StepProgram {
  readonly paramCount: number;
  train(cmd: StepCommand): Promise<StepResult>;
  evaluate(indices: Int32Array): EvalResult;
  /** The flat parameters, identical on every replica. */
  params(): TypedArray;
  /** The model's non-trainable state (batch-norm moving statistics), flat. */
  state(): Float32Array;
  /** Makes every replica's state rank 0's before an evaluation, where replicas can differ; all workers call it together. */
  agreeState(): Promise<void>;
}
