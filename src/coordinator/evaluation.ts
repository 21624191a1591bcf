/**
 * The test-set evaluation, whatever the job type: the workers evaluate
 * contiguous slices of the test set, the coordinator sums their losses and
 * counts. The set goes out in rounds of at most EVAL_ROUND samples per
 * worker, every worker taking part in each round (the evaluation agrees
 * batch-norm state collectively), so long evaluations show progress.
 */
import { shardBounds } from '../data/sharding.js';
import { checkAgreement } from './agreement.js';
import type { JobContext } from './job-context.js';
import type { WorkerInfo } from './membership.js';
import type { EvalReport } from '../observe/observer.js';
import type { EvalSplit } from '../data/dataset.js';
import { epochNow } from '../observe/spans.js';

/** The test set's sums over every worker: the loss, the samples and the job type's counts. */
export interface EvaluationSums {
  lossSum: number;
  count: number;
  counts: Record<string, number>;
}

/** Test samples a worker evaluates per round: one progress update per round. */
export const EVAL_ROUND = 1000;

/**
 * `split`: the held-out samples evaluated (the test split, or data.validation's).
 * `periodic`: an evaluation between steps (train.evalEvery): the model alone
 * (no attacks), and no progress of its own, which would restart the
 * training's ETA.
 */
export async function evaluateTestSet(ctx: Pick<JobContext, 'control' | 'progress'> & Partial<Pick<JobContext, 'observer'>>, workers: WorkerInfo[], testSize: number, periodic = false, split: EvalSplit = 'test'): Promise<EvaluationSums> {
  const rounds = Math.max(1, Math.ceil(testSize / (EVAL_ROUND * workers.length)));
  const sums: EvaluationSums = { lossSum: 0, count: 0, counts: {} };
  const t0 = performance.now();
  const started = epochNow();
  const reports: EvalReport[] = [];
  if (!periodic) ctx.progress.restart();
  for (let r = 0; r < rounds; r++) {
    const [from, to] = shardBounds(testSize, r, rounds);
    await Promise.all(
      workers.map((w) => {
        const [a, b] = shardBounds(to - from, w.rank, workers.length);
        return ctx.control.send(w.peer, { type: 'eval', id: r, ...(periodic ? { clean: true } : {}), ...(split === 'test' ? {} : { split }) }, [Int32Array.from({ length: b - a }, (_, i) => from + a + i)]);
      }),
    );
    const answers = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'evalDone')));
    checkAgreement(workers, answers.map((a) => a.header.paramsCrc), 'at the evaluation');
    answers.forEach((a, i) => reports.push({ rank: workers[i].rank, host: workers[i].host, ...(a.header.spans ? { spans: a.header.spans, spansDropped: a.header.spansDropped ?? 0 } : {}) }));
    for (const { header: h } of answers) {
      if (h.id !== r) throw new Error(`evaluation round ${r}: a worker answered round ${h.id}`);
      sums.lossSum += h.lossSum;
      sums.count += h.count;
      for (const [k, v] of Object.entries(h.counts)) sums.counts[k] = (sums.counts[k] ?? 0) + v;
    }
    if (!periodic) ctx.progress.count(to, testSize, 'test samples', (to * 1000) / (performance.now() - t0));
  }
  if (!periodic) ctx.progress.done();
  ctx.observer?.span?.('evaluation', started, epochNow());
  ctx.observer?.evaluation?.((performance.now() - t0) / 1000, reports);
  if (sums.count !== testSize) throw new Error(`the workers evaluated ${sums.count} test samples of ${testSize}`);
  return sums;
}
