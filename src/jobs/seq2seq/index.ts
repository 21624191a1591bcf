/** Job type `seq2seq`: a recurrent encoder–decoder with attention, trained with teacher forcing on a synthetic sequence task, scored by greedy decoding and beam search. */
import type { JobType } from '../job-type.js';
import { runSeq2seqJob } from './coordinator.js';
import { asSeq2seq, checkSeq2seq, seq2seqJobSchema } from './spec.js';
import { describeSeq2seq } from './summary.js';
import { buildSeq2seqWorker } from './worker.js';

export const seq2seq: JobType = {
  name: 'seq2seq',
  schema: seq2seqJobSchema,
  check: checkSeq2seq,
  run: (ctx) => runSeq2seqJob(ctx, asSeq2seq(ctx.spec)),
  buildWorker: (spec) => buildSeq2seqWorker(asSeq2seq(spec)),
  describe: (s, outDir) => describeSeq2seq(s, outDir),
};
