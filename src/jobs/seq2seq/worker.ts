/** The worker's side of a seq2seq job: its network (its pairs are drawn as the steps need them) and its step program. */
import { thenOrNow } from '../../util/then-or-now.js';
import type { WorkerJob } from '../job-type.js';
import { buildSeq2seq } from './model.js';
import { Seq2seqProgram } from './program.js';
import type { Seq2seqJob } from './spec.js';

export function buildSeq2seqWorker(spec: Seq2seqJob): Promise<WorkerJob> {
  // The network is built in this synchronous stretch (weight counts hook its weights).
  return thenOrNow(spec, (s): WorkerJob => {
    const model = buildSeq2seq(s);
    return {
      models: [model],
      rule: { optimizer: s.train.optimizer, clipNorm: s.train.clipNorm, skipNonFinite: s.train.onNonFinite === 'skip-step' },
      program: (deps) => new Seq2seqProgram({ ...deps, spec: s, model }),
    };
  });
}
