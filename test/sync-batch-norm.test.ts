/**
 * SyncBatchNormalization in one process, against tfjs-layers'
 * BatchNormalization on the whole batch. A second replica is played by the
 * `sum` callback: its share of each sum is computed here in float64 from its
 * samples, independently of the layer.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { SyncBatchNormalization } from '../src/tensor/layers/sync-batch-norm.js';
import { relativeDiff } from './helpers/reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TOL = 1e-5;
const EPS = 1e-3;

function seeded(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return offset + scale * (s / 2147483648 - 0.5);
  });
}

interface Setup {
  /** Shape of one sample, channels last. */
  sample: number[];
  /** Samples of the replica under test, then of the other one (may be 0). */
  mine: number;
  other: number;
}

/** gamma, beta, moving mean, moving variance: not the initial values, so that each matters. */
function weights(c: number): Float32Array[] {
  return [seeded(c, 1, 1, 1), seeded(c, 2, 1), seeded(c, 3, 0.5, 0.2), seeded(c, 4, 0.5, 1)];
}

/** Output, gradients (x, γ, β) of Σ y·w, and the layer's weights after one training pass. */
function trainingPass(layer: tfl.layers.Layer, x: tf.Tensor, w: tf.Tensor) {
  const xv = tf.variable(x);
  const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  let y: tf.Tensor | undefined;
  const { grads } = tf.variableGrads(() => {
    const out = layer.apply(xv, { training: true }) as tf.Tensor;
    y = tf.keep(out);
    return tf.sum(tf.mul(out, w)) as tf.Scalar;
  }, [xv, gamma, beta]);
  return { y: y!, dx: grads[xv.name], dGamma: grads[gamma.name], dBeta: grads[beta.name] };
}

const movingStats = (layer: tfl.layers.Layer) => layer.getWeights().slice(2).map((t) => t.dataSync() as Float32Array);

/** The reference: tfjs-layers' BatchNormalization on all samples (it moves its statistics inside the pass). */
function reference(x: tf.Tensor, w: tf.Tensor, c: number) {
  const bn = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: EPS });
  bn.apply(tfl.input({ shape: x.shape.slice(1) }));
  bn.setWeights(weights(c).map((v) => tf.tensor1d(v)));
  const pass = trainingPass(bn, x, w);
  const [movingMean, movingVariance] = movingStats(bn);
  return { ...pass, movingMean, movingVariance };
}

/** Replica 0 of two: the layer on its own samples, the other's share added by `sum`. */
function replica(s: Setup, xAll: Float32Array, wAll: Float32Array) {
  const c = s.sample[s.sample.length - 1];
  const per = s.sample.reduce((a, b) => a * b, 1);
  const mineX = xAll.subarray(0, s.mine * per);
  const otherX = xAll.subarray(s.mine * per);
  const otherW = wAll.subarray(s.mine * per);
  const [, , shift] = weights(c);
  // The other replica's sums, in float64.
  const total = s.mine + s.other;
  const rows = (a: Float32Array, f: (v: number, ch: number, i: number) => number) => {
    const out = new Float64Array(c);
    for (let i = 0; i < a.length; i++) out[i % c] += f(a[i], i % c, i);
    return out;
  };
  const otherS1 = rows(otherX, (v, ch) => v - shift[ch]);
  const otherS2 = rows(otherX, (v, ch) => (v - shift[ch]) ** 2);
  const mean = rows(xAll, (v) => v).map((v) => v / ((total * per) / c));
  const variance = rows(xAll, (v, ch) => (v - mean[ch]) ** 2).map((v) => v / ((total * per) / c));
  const xhat = (v: number, ch: number) => (v - mean[ch]) / Math.sqrt(variance[ch] + EPS);
  const otherDy = rows(otherX, (_v, _ch, i) => otherW[i]);
  const otherDyX = rows(otherX, (v, ch, i) => otherW[i] * xhat(v, ch));
  const calls: number[] = [];
  const layer = new SyncBatchNormalization({ sync: true, momentum: 0.9, epsilon: EPS });
  layer.sum = (v) => {
    calls.push(v.length);
    const out = Float32Array.from(v);
    if (v.length === 2 * c + 1) {
      for (let i = 0; i < c; i++) {
        out[i] += otherS1[i];
        out[c + i] += otherS2[i];
      }
      out[2 * c] += (s.other * per) / c;
    } else {
      for (let i = 0; i < c; i++) {
        out[i] += otherDy[i];
        out[c + i] += otherDyX[i];
      }
    }
    return out;
  };
  layer.apply(tfl.input({ shape: s.sample }));
  layer.setWeights(weights(c).map((v) => tf.tensor1d(v)));
  const x = tf.tensor(mineX, [s.mine, ...s.sample]);
  const w = tf.tensor(wAll.subarray(0, s.mine * per), [s.mine, ...s.sample]);
  const pass = trainingPass(layer, x, w);
  const before = movingStats(layer).map((v) => Array.from(v));
  layer.commitMovingStats();
  const [movingMean, movingVariance] = movingStats(layer);
  return { ...pass, calls, movingMean, movingVariance, before };
}

const cases: [string, Setup][] = [
  ['dense (N, C), one replica', { sample: [4], mine: 6, other: 0 }],
  ['dense (N, C), 5 + 3 samples', { sample: [4], mine: 5, other: 3 }],
  ['images (N, H, W, C), 2 + 1 samples', { sample: [3, 3, 3], mine: 2, other: 1 }],
];

describe('SyncBatchNormalization against tfjs BatchNormalization on the whole batch', () => {
  for (const [name, s] of cases) {
    it(name, () => {
      const c = s.sample[s.sample.length - 1];
      const per = s.sample.reduce((a, b) => a * b, 1);
      const n = s.mine + s.other;
      // Inputs with a mean far from zero: the shifted sums must keep the variance accurate.
      const xAll = seeded(n * per, 7, 2, 3);
      const wAll = seeded(n * per, 8, 1);
      const ref = reference(tf.tensor(xAll, [n, ...s.sample]), tf.tensor(wAll, [n, ...s.sample]), c);
      const got = replica(s, xAll, wAll);
      const mineRows = (t: tf.Tensor) => (t.dataSync() as Float32Array).subarray(0, s.mine * per);
      expect(relativeDiff(got.y.dataSync(), mineRows(ref.y))).toBeLessThan(TOL);
      expect(relativeDiff(got.dx.dataSync(), mineRows(ref.dx))).toBeLessThan(TOL);
      // γ's and β's gradients are this replica's share; the gradient all-reduce adds the other's.
      const mineRef = replicaShareOfParamGrads(xAll, wAll, s, c);
      expect(relativeDiff(got.dGamma.dataSync(), mineRef.dGamma)).toBeLessThan(TOL);
      expect(relativeDiff(got.dBeta.dataSync(), mineRef.dBeta)).toBeLessThan(TOL);
      if (s.other === 0) {
        expect(relativeDiff(got.dGamma.dataSync(), ref.dGamma.dataSync())).toBeLessThan(TOL);
        expect(relativeDiff(got.dBeta.dataSync(), ref.dBeta.dataSync())).toBeLessThan(TOL);
      }
      // The training pass itself leaves the moving statistics alone; the commit moves them as tfjs does.
      const [, , mm0, mv0] = weights(c);
      expect(got.before).toEqual([Array.from(mm0), Array.from(mv0)]);
      expect(relativeDiff(got.movingMean, ref.movingMean)).toBeLessThan(TOL);
      expect(relativeDiff(got.movingVariance, ref.movingVariance)).toBeLessThan(TOL);
      expect(got.calls).toEqual([2 * c + 1, 2 * c]);
    });
  }

  it('inference uses the moving statistics and sums nothing', () => {
    const layer = new SyncBatchNormalization({ sync: true, epsilon: EPS });
    let calls = 0;
    layer.sum = (v) => {
      calls++;
      return v;
    };
    layer.apply(tfl.input({ shape: [3] }));
    layer.setWeights(weights(3).map((v) => tf.tensor1d(v)));
    const std = tfl.layers.batchNormalization({ epsilon: EPS });
    std.apply(tfl.input({ shape: [3] }));
    std.setWeights(weights(3).map((v) => tf.tensor1d(v)));
    const x = tf.tensor(seeded(12, 9, 2, 1), [4, 3]);
    expect(relativeDiff((layer.apply(x) as tf.Tensor).dataSync(), (std.apply(x) as tf.Tensor).dataSync())).toBeLessThan(TOL);
    expect(calls).toBe(0);
  });

  it('local mode ignores the other replicas (so it differs from the global batch)', () => {
    const layer = new SyncBatchNormalization({ sync: false, epsilon: EPS });
    layer.sum = () => {
      throw new Error('local batch-norm must not sum');
    };
    layer.apply(tfl.input({ shape: [2] }));
    const x = tf.tensor([[1, 2], [3, 5]]);
    const y = (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
    // Two samples per channel normalize to ±1/sqrt(1 + eps/var).
    expect(Math.abs(y[0] + 1)).toBeLessThan(1e-3);
    expect(Math.abs(y[2] - 1)).toBeLessThan(1e-3);
  });

  it('a replica without samples still makes both sums, and records the global statistics', () => {
    const layer = new SyncBatchNormalization({ sync: true, momentum: 0.5 });
    const lengths: number[] = [];
    layer.sum = (v) => {
      lengths.push(v.length);
      // The other replicas' share: two samples per channel, Σ(x − 0) = 4 and Σ(x − 0)² = 10 (values 1 and 3).
      return v.length === 5 ? Float32Array.from([4, 4, 10, 10, 2]) : v;
    };
    layer.apply(tfl.input({ shape: [2] }));
    layer.forwardWithoutSamples();
    layer.backwardWithoutSamples();
    layer.commitMovingStats();
    expect(lengths).toEqual([5, 4]);
    const [, , mm, mv] = layer.getWeights().map((t) => Array.from(t.dataSync()));
    // mean 2, variance 1; momentum 0.5 from (0, 1).
    expect(mm).toEqual([1, 1]);
    expect(mv).toEqual([1, 1]);
  });
});

/** Σ over this replica's samples of dy·x̂ and dy, x̂ from the whole batch's statistics (float64). */
function replicaShareOfParamGrads(xAll: Float32Array, wAll: Float32Array, s: Setup, c: number) {
  const per = s.sample.reduce((a, b) => a * b, 1);
  const n = ((s.mine + s.other) * per) / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < xAll.length; i++) mean[i % c] += xAll[i] / n;
  for (let i = 0; i < xAll.length; i++) variance[i % c] += (xAll[i] - mean[i % c]) ** 2 / n;
  const dGamma = new Float64Array(c);
  const dBeta = new Float64Array(c);
  for (let i = 0; i < s.mine * per; i++) {
    const ch = i % c;
    dGamma[ch] += wAll[i] * ((xAll[i] - mean[ch]) / Math.sqrt(variance[ch] + EPS));
    dBeta[ch] += wAll[i];
  }
  return { dGamma, dBeta };
}
