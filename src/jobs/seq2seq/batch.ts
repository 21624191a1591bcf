/**
 * Pairs as the network reads them. One row per pair, of fixed length:
 *   input   [source (maxLength ids, PAD after the string) | decoder inputs (maxLength + 1 ids: START, then the target, PAD after)]
 *   target  [the target, then END, then padding (class 0)]  (maxLength + 1 classes)
 *   weight  1 where the target has a token, 0 over its padding: the loss and the counts skip padding.
 * Teacher forcing: the decoder reads the true previous token at every step.
 */
import type { Pair, Tokens } from './data.js';

export interface EncodedBatch {
  size: number;
  /** [size, 2 · maxLength + 1] token ids, as floats (the model's input). */
  input: Float32Array;
  /** [size, maxLength + 1] output classes. */
  target: Int32Array;
  /** [size, maxLength + 1]: 1 over each target's tokens (its symbols and the end token), 0 over padding. */
  weight: Float32Array;
  /** Target tokens in the batch: the sum of `weight`. */
  tokens: number;
}

/** Source positions of a row of the input. */
export const sourceSteps = (maxLength: number) => maxLength;
/** Target positions (decoder steps) of a row: the longest target and its end token. */
export const targetSteps = (maxLength: number) => maxLength + 1;

export function encodeBatch(pairs: Pair[], maxLength: number, t: Tokens): EncodedBatch {
  const S = sourceSteps(maxLength);
  const T = targetSteps(maxLength);
  const n = pairs.length;
  const input = new Float32Array(n * (S + T)).fill(t.pad);
  const target = new Int32Array(n * T);
  const weight = new Float32Array(n * T);
  let tokens = 0;
  pairs.forEach((p, i) => {
    if (p.source.length > S || p.target.length >= T) throw new RangeError(`pair ${i} is longer than maxLength ${maxLength}`);
    const row = i * (S + T);
    input.set(p.source, row);
    input[row + S] = t.start;
    input.set(p.target, row + S + 1);
    target.set([...p.target, t.end], i * T);
    weight.fill(1, i * T, i * T + p.target.length + 1);
    tokens += p.target.length + 1;
  });
  return { size: n, input, target, weight, tokens };
}

/** The source ids of a batch's pairs, [size, maxLength], PAD after each string (the decoders' input). */
export function encodeSources(pairs: Pair[], maxLength: number, t: Tokens): Float32Array {
  const out = new Float32Array(pairs.length * maxLength).fill(t.pad);
  pairs.forEach((p, i) => out.set(p.source, i * maxLength));
  return out;
}
