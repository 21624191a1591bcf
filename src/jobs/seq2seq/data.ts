/**
 * The synthetic sequence task of a seq2seq job, drawn from the job seed:
 * every pair is keyed by (seed, split, index) alone, so every process
 * draws the same pairs, in any order, without drawing the others.
 *
 * Tokens: a symbol s is the id s (0 ≤ s < vocab), the end token is
 * `vocab`; these are the decoder's output classes. Two more ids are only
 * ever read: PAD (vocab + 1) fills sequences out to a fixed length, START
 * (vocab + 2) is the decoder's first input.
 */
import { hashInts, Rng, Stream } from '../../util/rng.js';
import type { SequenceDataSpec } from './spec.js';

export type Split = 'train' | 'test';
const SPLIT_KEY: Record<Split, number> = { train: 1, test: 2 };

/** The ids of the special tokens, and the table sizes, for a vocabulary of `vocab` symbols. */
export interface Tokens {
  vocab: number;
  /** The end token: the last output class. */
  end: number;
  pad: number;
  start: number;
  /** Output classes: the symbols and the end token. */
  classes: number;
  /** Input ids: the classes, PAD and START. */
  inputs: number;
}

export function tokensOf(vocab: number): Tokens {
  return { vocab, end: vocab, pad: vocab + 1, start: vocab + 2, classes: vocab + 1, inputs: vocab + 3 };
}

/** A source string and its target (without the end token). */
export interface Pair {
  source: number[];
  target: number[];
}

/** The task's target for a source string. */
export function targetOf(task: SequenceDataSpec['task'], source: number[]): number[] {
  return task === 'reverse' ? [...source].reverse() : [...source].sort((a, b) => a - b);
}

/** Pair `index` of a split. */
export function pairAt(d: SequenceDataSpec, seed: number, split: Split, index: number): Pair {
  const rng = new Rng(hashInts(seed, Stream.sequences, SPLIT_KEY[split], index));
  const length = d.minLength + rng.int(d.maxLength - d.minLength + 1);
  const source = Array.from({ length }, () => rng.int(d.vocab));
  return { source, target: targetOf(d.task, source) };
}

/** The pairs at `indices` of a split. */
export function pairsAt(d: SequenceDataSpec, seed: number, split: Split, indices: ArrayLike<number>): Pair[] {
  return Array.from(indices, (i) => pairAt(d, seed, split, i));
}

/** A symbol as the picture draws it: 0–9, then A–Z. */
export function symbolName(s: number): string {
  return s.toString(36).toUpperCase();
}
