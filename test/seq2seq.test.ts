/**
 * The seq2seq job type in-process, on the cpu backend: the sequence task's
 * pairs, the attention and the loss against plain-JavaScript computations,
 * greedy decoding and beam search against each other and against scoring
 * every possible output, the network's weight count and its saved files,
 * the step program's tensors and its empty shards.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobWeights, parseJobSpec } from '../src/jobs/registry.js';
import { encodeBatch, encodeSources, targetSteps } from '../src/jobs/seq2seq/batch.js';
import { pairAt, pairsAt, tokensOf, type Pair } from '../src/jobs/seq2seq/data.js';
import { beamSearch, greedyDecode, type Hypothesis } from '../src/jobs/seq2seq/decode.js';
import type { Seq2seqAttention } from '../src/jobs/seq2seq/layer.js';
import { maskedCrossEntropySum } from '../src/jobs/seq2seq/loss.js';
import { buildSeq2seq, seq2seqLayerOf } from '../src/jobs/seq2seq/model.js';
import { Seq2seqProgram } from '../src/jobs/seq2seq/program.js';
import { countMatches } from '../src/jobs/seq2seq/scores.js';
import { asSeq2seq, type Seq2seqJob } from '../src/jobs/seq2seq/spec.js';
import { readAllParams } from '../src/tensor/flat.js';
import { fileLoadHandler, loadSavedInto, saveModel } from '../src/tensor/models/save.js';
import { LocalUpdate } from '../src/worker/reducers/local-update.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

const parsed = (data: Record<string, unknown>, model: Record<string, unknown> = {}) =>
  parseJobSpec({ name: 's2s', type: 'seq2seq', seed: 3, data: { train: 100, test: 50, ...data }, model: { units: 8, embedding: 6, ...model }, train: { batchSize: 10 } }, 's2s job');
const job = (data: Record<string, unknown>, model: Record<string, unknown> = {}): Seq2seqJob => asSeq2seq(parsed(data, model));

describe('the sequence task', () => {
  const d = job({ vocab: 7, minLength: 2, maxLength: 9 }).data;

  it('reverses: targets are the sources backwards, lengths in [minLength, maxLength], every symbol in the vocabulary', () => {
    const lengths = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const { source, target } = pairAt(d, 3, 'train', i);
      expect(target).toEqual(source.slice().reverse());
      expect(source.length).toBeGreaterThanOrEqual(2);
      expect(source.length).toBeLessThanOrEqual(9);
      expect(source.every((s) => Number.isInteger(s) && s >= 0 && s < 7)).toBe(true);
      lengths.add(source.length);
    }
    expect(lengths.size).toBe(8); // every length occurs
  });

  it('sorts: targets are the sources in ascending order', () => {
    const sort = job({ task: 'sort', vocab: 5, minLength: 4, maxLength: 6 }).data;
    for (let i = 0; i < 100; i++) {
      const { source, target } = pairAt(sort, 3, 'test', i);
      expect([...target]).toEqual([...source].sort((a, b) => a - b));
      for (let k = 1; k < target.length; k++) expect(target[k]).toBeGreaterThanOrEqual(target[k - 1]);
    }
  });

  it('is the same for the same seed, whatever is drawn before; another seed or split differs', () => {
    const ids = Int32Array.from([5, 17, 2, 99]);
    expect(pairsAt(d, 3, 'train', ids)).toEqual([...ids].map((i) => pairAt(d, 3, 'train', i)));
    expect(pairsAt(d, 3, 'train', ids)).toEqual(pairsAt(d, 3, 'train', ids));
    const sources = (seed: number, split: 'train' | 'test') => Array.from({ length: 20 }, (_, i) => pairAt(d, seed, split, i).source.join(','));
    expect(sources(4, 'train')).not.toEqual(sources(3, 'train'));
    expect(sources(3, 'test')).not.toEqual(sources(3, 'train'));
  });

  it('encodes rows as [source, PAD… | START, target, PAD…], targets ending in END, padding weighted 0', () => {
    const t = tokensOf(4);
    const b = encodeBatch([{ source: [1, 2, 3], target: [3, 2, 1] }], 4, t);
    const [P, S, E] = [t.pad, t.start, t.end];
    expect(Array.from(b.input)).toEqual([1, 2, 3, P, S, 3, 2, 1, P]);
    expect(Array.from(b.target)).toEqual([3, 2, 1, E, 0]);
    expect(Array.from(b.weight)).toEqual([1, 1, 1, 1, 0]);
    expect(b.tokens).toBe(4);
  });
});

/** A small network with random weights and a few test pairs. */
function setup(data: Record<string, unknown>, model: Record<string, unknown> = {}) {
  const spec = job(data, model);
  const net = buildSeq2seq(spec);
  return { spec, net, layer: seq2seqLayerOf(net), pairs: pairsAt(spec.data, spec.seed, 'test', Int32Array.from({ length: 12 }, (_, i) => i)) };
}

/** −Σ log softmax(logits)[target] over each pair's target and end token, in plain JavaScript from the logits [B, T, C]. */
function plainLoss(logits: Float32Array, pairs: Pair[], T: number, C: number, end: number): number {
  let sum = 0;
  pairs.forEach((p, b) => {
    [...p.target, end].forEach((tok, t) => {
      const row = Array.from(logits.subarray((b * T + t) * C, (b * T + t + 1) * C));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      sum -= row[tok] - lse;
    });
  });
  return sum;
}

describe('the network', () => {
  for (const model of [{ cell: 'gru', attention: 'additive' }, { cell: 'lstm', attention: 'dot', bidirectional: true }]) {
    it(`${model.cell}, ${model.attention} attention: its weights sum to 1 over the source's tokens and are 0 on padding`, () => {
      const { layer, pairs, spec } = setup({ maxLength: 6 }, model);
      const b = encodeBatch(pairs, 6, layer.tokens);
      const attention = tf.tidy(() => layer.teacherForced(tf.tensor2d(b.input, [b.size, b.input.length / b.size])).attention.arraySync());
      expect(attention.length).toBe(pairs.length);
      pairs.forEach((p, i) => {
        expect(attention[i].length).toBe(targetSteps(spec.data.maxLength));
        for (const row of attention[i]) {
          expect(row.slice(0, p.source.length).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
          expect(row.slice(p.source.length)).toEqual(new Array(6 - p.source.length).fill(0));
        }
      });
    });
  }

  it('the loss is the masked per-token cross-entropy summed over the batch, as plain JavaScript computes it from the logits', () => {
    const { net, layer, pairs } = setup({ maxLength: 5, minLength: 1 });
    const b = encodeBatch(pairs, 5, layer.tokens);
    const T = targetSteps(5);
    const { loss, logits } = tf.tidy(() => {
      const out = net.predict(tf.tensor2d(b.input, [b.size, b.input.length / b.size])) as tf.Tensor3D;
      const l = maskedCrossEntropySum(out, tf.tensor2d(b.target, [b.size, T], 'int32'), tf.tensor2d(b.weight, [b.size, T]));
      return { loss: l.dataSync()[0], logits: out.dataSync() as Float32Array };
    });
    const expected = plainLoss(logits, pairs, T, layer.tokens.classes, layer.tokens.end);
    expect(Math.abs(loss - expected) / expected).toBeLessThan(1e-5);
    // The comparison can fail: counting the padding too gives another sum.
    const padded = plainLoss(logits, pairs.map((p) => ({ ...p, target: [...p.target, ...new Array(T - 1 - p.target.length).fill(0)] })), T, layer.tokens.classes, layer.tokens.end);
    expect(Math.abs(loss - padded) / padded).toBeGreaterThan(1e-3);
  });

  it('counts its weights without building them, as the service caps do', async () => {
    const { net } = setup({});
    expect(await jobWeights(parsed({}))).toBe(readAllParams([net]).length);
  });

  it('saves as a tfjs LayersModel that loads (its layer registered) with the same weights and outputs, and into a fresh network', async () => {
    const { spec, net, layer, pairs } = setup({ maxLength: 5 }, { cell: 'lstm', bidirectional: true });
    const dir = `${tmp.dir}/model`;
    await saveModel(net, dir);
    const loaded = await tfl.loadLayersModel(fileLoadHandler(dir));
    expect(Array.from(readAllParams([loaded]))).toEqual(Array.from(readAllParams([net])));
    const x = encodeBatch(pairs, 5, layer.tokens).input;
    const out = (m: tfl.LayersModel) => tf.tidy(() => Array.from((m.predict(tf.tensor2d(x, [pairs.length, 11])) as tf.Tensor).dataSync()));
    expect(out(loaded)).toEqual(out(net));
    const fresh = buildSeq2seq({ ...spec, seed: 99 });
    expect(await loadSavedInto(dir, fresh)).toBe(true);
    expect(Array.from(readAllParams([fresh]))).toEqual(Array.from(readAllParams([net])));
    expect(await loadSavedInto(dir, buildSeq2seq({ ...spec, model: { ...spec.model, units: 9 } }))).toBe(false);
  });
});

describe('the step program', () => {
  it('leaks no tensors over steps and evaluations; an empty shard adds no gradient and still takes part in the update', async () => {
    const { spec, net } = setup({ maxLength: 5 }, { cell: 'lstm', attention: 'dot' });
    const params = readAllParams([net]);
    const grads = new Float32Array(params.length);
    const local = new LocalUpdate({ optimizer: { name: 'sgd', lr: 0.1 }, clipNorm: 1 });
    const seen: number[] = [];
    const update = async (u: { step: number; lr: number; globalBatch: number }) => (seen.push(grads.reduce((s, g) => s + Math.abs(g), 0)), local.apply(params, grads, u));
    const p = new Seq2seqProgram({ spec, model: net, params, grads, update });
    const indices = Int32Array.from({ length: 10 }, (_, i) => i);
    const first = await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 10, indices });
    p.evaluate(indices.subarray(0, 5));
    const before = tf.memory().numTensors;
    for (let s = 1; s < 4; s++) await p.train({ step: s, epoch: 0, lr: 0.1, globalBatch: 10, indices });
    const e = p.evaluate(indices.subarray(0, 5));
    expect(tf.memory().numTensors).toBe(before);
    expect(first.count).toBe(10);
    expect(first.counts.tokens).toBe(pairsAt(spec.data, spec.seed, 'train', indices).reduce((n, q) => n + q.target.length + 1, 0));
    expect(e.count).toBe(5);
    expect(e.counts.tokens).toBe(pairsAt(spec.data, spec.seed, 'test', indices.subarray(0, 5)).reduce((n, q) => n + q.target.length + 1, 0));
    const empty = await p.train({ step: 4, epoch: 0, lr: 0.1, globalBatch: 10, indices: new Int32Array(0) });
    expect([empty.count, empty.lossSum, seen[seen.length - 1]]).toEqual([0, 0, 0]);
    expect(seen[0]).toBeGreaterThan(0);
  });
});

/** The teacher-forced log-probability of a whole hypothesis (its tokens, then END if it ended), through the layer's call. */
function scoreOf(layer: Seq2seqAttention, source: number[], h: Hypothesis): number {
  const S = layer.config.maxLength;
  const T = targetSteps(S);
  const { pad, start, end, classes } = layer.tokens;
  const row = new Float32Array(S + T).fill(pad);
  row.set(source);
  row.set([start, ...h.tokens].slice(0, T), S);
  const outputs = h.ended ? [...h.tokens, end] : h.tokens;
  const logp = tf.tidy(() => tf.logSoftmax(layer.apply(tf.tensor2d(row, [1, S + T])) as tf.Tensor).dataSync());
  return outputs.reduce((s, tok, t) => s + logp[t * classes + tok], 0);
}

/** Every output of at most T tokens: each symbol string shorter than T followed by END, and each of T symbols without. */
function everyOutput(vocab: number, T: number): Hypothesis[] {
  const out: Hypothesis[] = [];
  const grow = (tokens: number[]) => {
    if (tokens.length === T) return void out.push({ tokens, ended: false, score: 0 });
    out.push({ tokens, ended: true, score: 0 });
    for (let s = 0; s < vocab; s++) grow([...tokens, s]);
  };
  grow([]);
  return out;
}

describe('decoding', () => {
  it('beam search of width 1 is greedy decoding, token for token', () => {
    for (const model of [{ cell: 'gru' }, { cell: 'lstm', attention: 'dot' }]) {
      const { layer, pairs } = setup({ maxLength: 6 }, model);
      const sources = encodeSources(pairs, 6, layer.tokens);
      const greedy = greedyDecode(layer, sources, pairs.length).hypotheses;
      const beam = beamSearch(layer, sources, pairs.length, 1);
      expect(beam.map((h) => [h.tokens, h.ended])).toEqual(greedy.map((h) => [h.tokens, h.ended]));
      beam.forEach((h, i) => expect(h.score).toBeCloseTo(greedy[i].score, 5));
    }
  });

  it('scores are the teacher-forced log-probabilities of the outputs (beam search and greedy decoding)', () => {
    const { layer, pairs } = setup({ maxLength: 6 });
    const sources = encodeSources(pairs, 6, layer.tokens);
    const greedy = greedyDecode(layer, sources, pairs.length).hypotheses;
    const beam = beamSearch(layer, sources, pairs.length, 4);
    pairs.forEach((p, i) => {
      expect(scoreOf(layer, p.source, greedy[i])).toBeCloseTo(greedy[i].score, 4);
      expect(scoreOf(layer, p.source, beam[i])).toBeCloseTo(beam[i].score, 4);
    });
    // (Beam ≥ greedy is no invariant: the greedy prefix can leave the beam. The next test checks optimality where it holds.)
    // The comparison can fail: another output of the same source scores differently.
    const other = { tokens: [...greedy[0].tokens, 0], ended: true, score: 0 };
    expect(Math.abs(scoreOf(layer, pairs[0].source, other) - greedy[0].score)).toBeGreaterThan(1e-3);
  });

  it('a beam wide enough to keep every hypothesis finds the likeliest of all outputs (checked by scoring each)', () => {
    const { layer, pairs } = setup({ vocab: 3, minLength: 1, maxLength: 3 });
    const outputs = everyOutput(3, targetSteps(3));
    expect(outputs.length).toBe(1 + 3 + 9 + 27 + 81);
    const sources = encodeSources(pairs.slice(0, 4), 3, layer.tokens);
    const beam = beamSearch(layer, sources, 4, 128);
    const narrow = beamSearch(layer, sources, 4, 2);
    pairs.slice(0, 4).forEach((p, i) => {
      const scored = outputs.map((h) => ({ ...h, score: scoreOf(layer, p.source, h) }));
      const best = scored.reduce((a, h) => (h.score > a.score ? h : a));
      expect([beam[i].tokens, beam[i].ended]).toEqual([best.tokens, best.ended]);
      expect(beam[i].score).toBeCloseTo(best.score, 4);
      expect(narrow[i].score).toBeLessThanOrEqual(best.score + 1e-5);
      // The scores of all outputs make a distribution: they sum to 1.
      expect(scored.reduce((s, h) => s + Math.exp(h.score), 0)).toBeCloseTo(1, 4);
    });
  });

  it('leaks no tensors', () => {
    const { layer, pairs } = setup({ maxLength: 5 }, { cell: 'lstm', bidirectional: true });
    const sources = encodeSources(pairs, 5, layer.tokens);
    greedyDecode(layer, sources, pairs.length, true);
    const before = tf.memory().numTensors;
    greedyDecode(layer, sources, pairs.length, true);
    beamSearch(layer, sources, pairs.length, 3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('counts exact matches and correct tokens against the target and its end token', () => {
    const pairs = [{ source: [1, 2], target: [2, 1] }, { source: [1, 2, 3], target: [3, 2, 1] }, { source: [3], target: [3] }, { source: [1], target: [1] }];
    const decoded: Hypothesis[] = [
      { tokens: [2, 1], ended: true, score: 0 }, // exact: 3 of 3 tokens
      { tokens: [3, 1, 1], ended: true, score: 0 }, // 3 of 4
      { tokens: [3, 3], ended: true, score: 0 }, // the end token late: 1 of 2
      { tokens: [1], ended: false, score: 0 }, // no end token: 1 of 2
    ];
    expect(countMatches(decoded, pairs, 9)).toEqual({ exact: 1, correct: 3 + 3 + 1 + 1, tokens: 3 + 4 + 2 + 2 });
  });
});
