/**
 * Decoding without the target: greedy (the likeliest token at each step)
 * and beam search. Both run at most maxLength + 1 steps (the longest target
 * and its end token), in inference mode, on a batch of sources at once.
 *
 * Beam search keeps, per sample, up to `width` live hypotheses scored by
 * the sum of their tokens' log-probabilities. Each step extends every live
 * hypothesis by every token and keeps the `width` best extensions of the
 * sample (ties: the earlier hypothesis, then the smaller token); an
 * extension by the end token is finished and leaves the beam, which then
 * holds fewer. Hypotheses still live after the last step are finished
 * without an end token. The answer is the best finished one. With width 1
 * this is greedy decoding, step for step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Memory } from './attention.js';
import { targetSteps } from './batch.js';
import type { CellState } from './cells.js';
import type { Seq2seqAttention } from './layer.js';

/** A decoded sequence: its tokens before the end token, whether it has one, and its log-probability. */
export interface Hypothesis {
  tokens: number[];
  ended: boolean;
  score: number;
}

export interface GreedyDecoding {
  hypotheses: Hypothesis[];
  /** With `keepAttention`: per sample, per decoded token (the end token included), its weights over the source steps. */
  attention?: Float32Array[][];
}

/** One decoder step on the rows `previous` [rows] ids: the log-probabilities [rows, classes], the next state, the weights. */
function stepLogProbs(layer: Seq2seqAttention, memory: Memory, state: CellState, previous: Float32Array): { logp: tf.Tensor2D; state: CellState; weights: tf.Tensor2D } {
  return tf.tidy(() => {
    const s = layer.decodeStep(memory, state, tf.tensor1d(previous));
    return { logp: tf.logSoftmax(s.logits), state: s.state, weights: s.weights };
  });
}

/** Greedy decoding of `n` sources [n, maxLength] (PAD after each string). */
export function greedyDecode(layer: Seq2seqAttention, sources: Float32Array, n: number, keepAttention = false): GreedyDecoding {
  const S = layer.config.maxLength;
  const { classes, end, start } = layer.tokens;
  const enc = tf.tidy(() => layer.encode(tf.tensor2d(sources, [n, S])));
  const hypotheses: Hypothesis[] = Array.from({ length: n }, () => ({ tokens: [], ended: false, score: 0 }));
  const attention = keepAttention ? Array.from({ length: n }, (): Float32Array[] => []) : undefined;
  const previous = new Float32Array(n).fill(start);
  let state = enc.state;
  for (let t = 0; t < targetSteps(S) && hypotheses.some((h) => !h.ended); t++) {
    const step = stepLogProbs(layer, enc.memory, state, previous);
    const logp = step.logp.dataSync() as Float32Array;
    const weights = attention ? (step.weights.dataSync() as Float32Array) : undefined;
    if (state !== enc.state) tf.dispose(state);
    state = step.state;
    tf.dispose([step.logp, step.weights]);
    hypotheses.forEach((h, i) => {
      if (h.ended) return;
      let best = 0;
      for (let c = 1; c < classes; c++) if (logp[i * classes + c] > logp[i * classes + best]) best = c;
      h.score += logp[i * classes + best];
      if (best === end) h.ended = true;
      else h.tokens.push(best);
      previous[i] = best;
      attention?.[i].push(weights!.slice(i * S, (i + 1) * S));
    });
  }
  if (state !== enc.state) tf.dispose(state);
  tf.dispose([enc.memory.values, enc.memory.keys, enc.memory.bias, ...enc.state]);
  return { hypotheses, ...(attention ? { attention } : {}) };
}

interface Live {
  tokens: number[];
  score: number;
  sample: number;
}

/** The rows `rows` of a memory (a sample's rows repeated for each of its live hypotheses). */
function memoryRows(m: Memory, rows: tf.Tensor1D): Memory {
  const values = tf.gather(m.values, rows) as tf.Tensor3D;
  return { values, keys: m.keys === m.values ? values : (tf.gather(m.keys, rows) as tf.Tensor3D), bias: tf.gather(m.bias, rows) as tf.Tensor2D };
}

/** Beam search of `width` over `n` sources [n, maxLength]: the best hypothesis of each. */
export function beamSearch(layer: Seq2seqAttention, sources: Float32Array, n: number, width: number): Hypothesis[] {
  const S = layer.config.maxLength;
  const T = targetSteps(S);
  const { classes, end, start } = layer.tokens;
  const enc = tf.tidy(() => layer.encode(tf.tensor2d(sources, [n, S])));
  const finished: Hypothesis[][] = Array.from({ length: n }, () => []);
  // Row r of the state and memory is live[r]; hypotheses of a sample are consecutive.
  let live: Live[] = Array.from({ length: n }, (_, sample) => ({ tokens: [], score: 0, sample }));
  let memory = enc.memory;
  let state = enc.state;
  for (let t = 0; t < T && live.length > 0; t++) {
    const previous = Float32Array.from(live, (h) => (h.tokens.length > 0 ? h.tokens[h.tokens.length - 1] : start));
    const step = stepLogProbs(layer, memory, state, previous);
    const logp = step.logp.dataSync() as Float32Array;
    const next: Live[] = [];
    const parents: number[] = [];
    for (let a = 0; a < live.length; ) {
      let b = a;
      while (b < live.length && live[b].sample === live[a].sample) b++;
      const candidates: { score: number; parent: number; token: number }[] = [];
      for (let r = a; r < b; r++) for (let c = 0; c < classes; c++) candidates.push({ score: live[r].score + logp[r * classes + c], parent: r, token: c });
      candidates.sort((x, y) => y.score - x.score); // stable: ties stay in (hypothesis, token) order
      for (const c of candidates.slice(0, width)) {
        const h = live[c.parent];
        if (c.token === end) finished[h.sample].push({ tokens: h.tokens, ended: true, score: c.score });
        else if (t === T - 1) finished[h.sample].push({ tokens: [...h.tokens, c.token], ended: false, score: c.score });
        else {
          next.push({ tokens: [...h.tokens, c.token], score: c.score, sample: h.sample });
          parents.push(c.parent);
        }
      }
      a = b;
    }
    const kept = tf.tidy(() => {
      const rows = tf.tensor1d(parents, 'int32');
      const samples = tf.tensor1d(next.map((h) => h.sample), 'int32');
      return { state: step.state.map((s) => tf.gather(s, rows) as tf.Tensor2D), memory: memoryRows(enc.memory, samples) };
    });
    if (state !== enc.state) tf.dispose(state);
    if (memory !== enc.memory) tf.dispose([memory.values, memory.keys, memory.bias]);
    tf.dispose([step.logp, step.weights, ...step.state]);
    [state, memory, live] = [kept.state, kept.memory, next];
  }
  if (state !== enc.state) tf.dispose(state);
  if (memory !== enc.memory) tf.dispose([memory.values, memory.keys, memory.bias]);
  tf.dispose([enc.memory.values, enc.memory.keys, enc.memory.bias, ...enc.state]);
  return finished.map((f) => f.reduce((best, h) => (h.score > best.score ? h : best)));
}
