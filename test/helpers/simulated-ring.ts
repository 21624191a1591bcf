/**
 * N workers' step programs in this test process, as the ring runs them:
 * each worker's `update` waits until all N have their gradient sums, adds
 * them up and applies the job's rule to its own replica; the job's steps
 * cut each global batch (the epoch schedule) into the workers' shards. The
 * equivalence tests of job types that update through the strategy use it.
 */
import { BatchSchedule, planSteps, shardBounds } from '../../src/data/sharding.js';
import { LocalUpdate } from '../../src/worker/reducers/local-update.js';
import type { UpdateArgs, UpdateRule } from '../../src/worker/reducers/reducer.js';
import type { StepProgram } from '../../src/worker/step-program.js';

/**
 * The update of each of the workers whose buffers are `buffers`, by rank.
 * `weight(rank, u)` scales a worker's gradient in the sum (default 1): a
 * companion's deliberate mistake.
 */
export function ringUpdates(buffers: { params: Float32Array; grads: Float32Array }[], rule: UpdateRule, weight: (rank: number, u: UpdateArgs) => number = () => 1): ((u: UpdateArgs) => Promise<boolean>)[] {
  const n = buffers.length;
  let waiting: { u: UpdateArgs; done: (applied: boolean) => void }[] = [];
  const locals = buffers.map(() => new LocalUpdate(rule));
  return buffers.map((_, rank) => (u: UpdateArgs) =>
    new Promise<boolean>((done) => {
      waiting[rank] = { u, done };
      if (waiting.filter(Boolean).length < n) return;
      const sum = new Float32Array(buffers[0].grads.length);
      buffers.forEach((b, r) => {
        const w = weight(r, waiting[r].u);
        b.grads.forEach((g, i) => (sum[i] += g * w));
      });
      const all = waiting;
      waiting = [];
      all.forEach((w, r) => w.done(locals[r].apply(buffers[r].params, sum.slice(), w.u)));
    }),
  );
}

export interface ShardedSteps {
  seed: number;
  trainSize: number;
  train: { batchSize: number; epochs: number; maxSteps?: number; optimizer: { lr: number } };
  /** false: every worker's shard starts at offset 0 (randomness keyed by rank-local position), a companion's mistake. */
  offsets?: boolean;
}

/** The job's steps on the programs, by rank: each takes its shard of the step's global batch. */
export async function trainShards(programs: StepProgram[], s: ShardedSteps): Promise<void> {
  const n = programs.length;
  const plan = planSteps(s.trainSize, s.train.batchSize, s.train.epochs, s.train.maxSteps);
  const schedule = new BatchSchedule(s.seed, s.trainSize, s.train.batchSize, plan);
  for (let step = 0; step < plan.totalSteps; step++) {
    const batch = schedule.batch(step);
    await Promise.all(
      programs.map((p, r) => {
        const [a, b] = shardBounds(batch.length, r, n);
        return p.train({ step, epoch: 0, lr: s.train.optimizer.lr, globalBatch: batch.length, indices: batch.slice(a, b), offset: s.offsets === false ? 0 : a });
      }),
    );
  }
}
