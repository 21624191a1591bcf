/**
 * What the evaluation counts and what summary.json reports. A decoded
 * sequence is compared with the target followed by the end token, position
 * by position: exact match when the whole of it (up to and including the
 * end token) equals the target; token accuracy the share of target tokens
 * (end tokens included) that the decoded sequence has at their position.
 * The workers count over their test slices; the coordinator adds the
 * counts up and divides.
 */
import type { EvaluationSums } from '../../coordinator/evaluation.js';
import type { Counts } from '../../worker/step-program.js';
import type { Pair } from './data.js';
import type { Hypothesis } from './decode.js';

/** Exact matches and correct tokens of decoded sequences against their pairs' targets, and the target tokens. */
export function countMatches(decoded: Hypothesis[], pairs: Pair[], end: number): { exact: number; correct: number; tokens: number } {
  let exact = 0;
  let correct = 0;
  let tokens = 0;
  decoded.forEach((h, i) => {
    const want = [...pairs[i].target, end];
    const got = h.ended ? [...h.tokens, end] : h.tokens;
    const right = want.filter((tok, p) => got[p] === tok).length;
    tokens += want.length;
    correct += right;
    if (right === want.length && got.length === want.length) exact++;
  });
  return { exact, correct, tokens };
}

/** The counts of one evaluated slice: beam search's and greedy decoding's matches, and the target tokens. */
export function evaluationCounts(beam: Hypothesis[], greedy: Hypothesis[], pairs: Pair[], end: number): Counts {
  const b = countMatches(beam, pairs, end);
  const g = countMatches(greedy, pairs, end);
  return { exactMatch: b.exact, tokensCorrect: b.correct, greedyExactMatch: g.exact, greedyTokensCorrect: g.correct, tokens: b.tokens };
}

export interface MatchScores {
  exactMatch: number;
  tokenAccuracy: number;
}

/** summary.json's `eval` of a seq2seq job: beam search's scores, greedy decoding's, the teacher-forced test loss. */
export interface Seq2seqEval extends MatchScores {
  /** Mean over the test samples of each sample's summed per-token cross-entropy. */
  loss: number;
  /** The same per target token. */
  tokenLoss: number;
  beamWidth: number;
  greedy: MatchScores;
}

export function evalScores(sums: EvaluationSums, beamWidth: number): Seq2seqEval {
  const c = (k: string) => sums.counts[k] ?? 0;
  const tokens = c('tokens');
  return {
    loss: sums.lossSum / sums.count,
    tokenLoss: sums.lossSum / tokens,
    exactMatch: c('exactMatch') / sums.count,
    tokenAccuracy: c('tokensCorrect') / tokens,
    beamWidth,
    greedy: { exactMatch: c('greedyExactMatch') / sums.count, tokenAccuracy: c('greedyTokensCorrect') / tokens },
  };
}

/** Training figures over a window of steps: mean loss per sample and per target token. */
export function trainScores(w: { loss: number; tokens: number; count: number }): { loss: number; tokenLoss: number } {
  return { loss: w.loss / w.count, tokenLoss: w.loss / w.tokens };
}
