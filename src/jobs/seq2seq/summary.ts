/** A seq2seq job's closing lines: losses, beam search's and greedy decoding's scores, the files written. */
import type { Summary } from '../../coordinator/session.js';
import { percent } from '../supervised/summary.js';
import type { Seq2seqEval } from './scores.js';

export function describeSeq2seq(s: Summary, outDir: string): string {
  const e = s.eval as unknown as Seq2seqEval | null;
  const picture = (s.seq2seq as { picture?: string } | undefined)?.picture;
  const files = `  wrote ${outDir}/summary.json, model/,${picture ? ` ${picture},` : ''} metrics.jsonl, plots/, tensorboard/, trace.json, log.jsonl\n`;
  if (!e) return files;
  return (
    `  train loss ${s.train?.loss.toFixed(4) ?? '-'}  eval loss ${e.loss.toFixed(4)} (${e.tokenLoss.toFixed(4)} a token)\n` +
    `  beam search (width ${e.beamWidth}): exact match ${percent(e.exactMatch)}  token accuracy ${percent(e.tokenAccuracy)}\n` +
    `  greedy decoding:        exact match ${percent(e.greedy.exactMatch)}  token accuracy ${percent(e.greedy.tokenAccuracy)}\n` +
    files
  );
}
