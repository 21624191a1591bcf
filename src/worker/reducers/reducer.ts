/**
 * The one interface every gradient strategy implements, chosen once from the
 * job spec (reducers/make.ts). The worker's step programs call it without
 * knowing which strategy is behind it.
 */
import type { OptimizerSpec } from '../../spec/job-spec.js';

export interface UpdateArgs {
  step: number;
  lr: number;
  /** The step's batch across all workers: the summed gradient is divided by it. */
  globalBatch: number;
}

/** What an update does to the summed gradient: the job's optimizer and its clipping. */
export interface UpdateRule {
  optimizer: OptimizerSpec;
  /** Clip the averaged gradient to this global L2 norm. */
  clipNorm?: number;
  /** A summed gradient that is not finite leaves the parameters and the optimizer as they were (train.onNonFinite skip-step). */
  skipNonFinite?: boolean;
}

export interface GradientReducer {
  /**
   * Replaces `buf` with the element-wise sum of every worker's `buf`.
   * `compress`: `buf` holds gradients, which may travel compressed
   * (cluster.compression, ring); other sums are always exact.
   */
  allReduce(buf: Float32Array, compress?: boolean): Promise<void>;
  /**
   * One optimizer step of the job. `grads` holds this worker's gradient of
   * its summed loss (it may be overwritten); afterwards `params` holds the
   * parameters after the update, identical on every worker in synchronous
   * strategies. The ring sums and runs the optimizer here; a parameter
   * server runs it on its shards.
   */
  update(grads: Float32Array, params: Float32Array, u: UpdateArgs): Promise<void>;
  /** Brings `params` up to the job's current parameters (they lag only under bounded staleness). */
  refresh(params: Float32Array): Promise<void>;
  close(): void;
  /**
   * When the last collective first received from a peer (ms since the
   * epoch; set by strategies that can tell): until then this worker was
   * waiting for the others. The comm thread clears it before each one.
   */
  firstReceivedAt?: number;
}

/** Called for each message a reducer drops as malformed, with the reason. */
export type DropHandler = (reason: string) => void;
