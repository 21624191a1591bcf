/**
 * The test-set evaluation of supervised and adversarial jobs, and of
 * `dtrain attack`: the workers evaluate contiguous slices of the test set
 * (adversarial jobs also attack them), the coordinator sums their counts.
 * The set goes out in rounds of at most EVAL_ROUND samples per worker, every
 * worker taking part in each round (the evaluation agrees batch-norm state
 * collectively), so long evaluations show progress.
 */
import { evalStepSize, type AttackKind } from '../jobs/adversarial/spec.js';
import type { SupervisedJob } from '../spec/job-spec.js';
import { shardBounds } from '../data/sharding.js';
import type { JobContext } from './job-loop.js';
import type { WorkerInfo } from './membership.js';

export interface TestResult {
  loss: number;
  accuracy: number;
}

export interface RobustAccuracy {
  epsilon: number;
  clean: number;
  /** Test accuracy under FGSM (absent when evalAttacks leaves it out). */
  fgsm?: number;
  /** Test accuracy under PGD with `pgdSteps` steps from a random start (absent when evalAttacks leaves it out). */
  pgd?: number;
  pgdSteps: number;
  /** The PGD step size. */
  pgdStepSize: number;
}

/** Test samples a worker evaluates per round: one progress update per round. */
export const EVAL_ROUND = 1000;

const COUNTERS: Record<AttackKind, 'fgsmCorrect' | 'pgdCorrect'> = { fgsm: 'fgsmCorrect', pgd: 'pgdCorrect' };

export async function evaluateTestSet(ctx: JobContext, workers: WorkerInfo[], testSize: number, spec: SupervisedJob): Promise<{ result: TestResult; adversarial?: RobustAccuracy }> {
  const rounds = Math.max(1, Math.ceil(testSize / (EVAL_ROUND * workers.length)));
  const sums = { lossSum: 0, correct: 0, count: 0, fgsmCorrect: 0, pgdCorrect: 0 };
  const t0 = performance.now();
  ctx.progress.restart();
  for (let r = 0; r < rounds; r++) {
    const [from, to] = shardBounds(testSize, r, rounds);
    await Promise.all(
      workers.map((w) => {
        const [a, b] = shardBounds(to - from, w.rank, workers.length);
        return ctx.control.send(w.peer, { type: 'eval', id: r }, [Int32Array.from({ length: b - a }, (_, i) => from + a + i)]);
      }),
    );
    for (const { header: h } of await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'evalDone')))) {
      if (h.id !== r) throw new Error(`evaluation round ${r}: a worker answered round ${h.id}`);
      sums.lossSum += h.lossSum;
      sums.correct += h.correct;
      sums.count += h.count;
      sums.fgsmCorrect += h.fgsmCorrect ?? 0;
      sums.pgdCorrect += h.pgdCorrect ?? 0;
    }
    ctx.progress.count(to, testSize, 'test samples', (to * 1000) / (performance.now() - t0));
  }
  ctx.progress.done();
  if (sums.count !== testSize) throw new Error(`the workers evaluated ${sums.count} test samples of ${testSize}`);
  const result = { loss: sums.lossSum / sums.count, accuracy: sums.correct / sums.count };
  if (spec.type !== 'adversarial') return { result };
  const a = spec.adversarial;
  const adversarial: RobustAccuracy = { epsilon: a.epsilon, clean: result.accuracy, pgdSteps: a.evalSteps, pgdStepSize: evalStepSize(a) };
  for (const kind of a.evalAttacks) adversarial[kind] = sums[COUNTERS[kind]] / sums.count;
  return { result, adversarial };
}
