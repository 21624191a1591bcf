/**
 * Which samples each step uses and which worker gets which. Deterministic
 * from the job seed: the epoch shuffle from (seed, epoch), the global batch
 * as consecutive slices of it (the last one may be short), and each worker's
 * shard as a contiguous slice of the global batch.
 */
import { epochPermutation } from '../util/rng.js';

export interface StepPlan {
  stepsPerEpoch: number;
  totalSteps: number;
}

export function planSteps(trainSize: number, batchSize: number, epochs: number, maxSteps?: number): StepPlan {
  const stepsPerEpoch = Math.ceil(trainSize / batchSize);
  const all = stepsPerEpoch * epochs;
  return { stepsPerEpoch, totalSteps: maxSteps === undefined ? all : Math.min(all, maxSteps) };
}

/** [start, end) of worker `rank`'s slice of a batch of `len` samples: sizes differ by at most one. */
export function shardBounds(len: number, rank: number, size: number): [number, number] {
  return [Math.floor((rank * len) / size), Math.floor(((rank + 1) * len) / size)];
}

/** Global sample indices of every step, epoch by epoch, computing each epoch's shuffle once. */
export class BatchSchedule {
  private epoch = -1;
  private perm: Int32Array = new Int32Array(0);
  constructor(
    private readonly seed: number,
    private readonly trainSize: number,
    private readonly batchSize: number,
    readonly plan: StepPlan,
  ) {}

  epochOf(step: number): number {
    return Math.floor(step / this.plan.stepsPerEpoch);
  }

  batch(step: number): Int32Array {
    const epoch = this.epochOf(step);
    if (epoch !== this.epoch) {
      this.perm = epochPermutation(this.seed, epoch, this.trainSize);
      this.epoch = epoch;
    }
    const start = (step % this.plan.stepsPerEpoch) * this.batchSize;
    return this.perm.subarray(start, Math.min(this.trainSize, start + this.batchSize));
  }
}
