/**
 * The zoo's transformers and their layers, each against a plain-JavaScript
 * computation written here: multi-head self-attention (with and without the
 * causal mask), layer normalization, the sin/cos table, cutting images into
 * patches, and Tile's gradient; then the models: parameter counts from the
 * formulas, the spec's errors, save and load, and gradients on wasm equal
 * to cpu's.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/tensor/backend.js';
import { LayerNorm } from '../src/tensor/layers/layer-norm.js';
import { Patches } from '../src/tensor/layers/patches.js';
import { PositionEmbedding } from '../src/tensor/layers/positions.js';
import { MultiHeadSelfAttention } from '../src/tensor/layers/self-attention.js';
import { fileLoadHandler, saveModel } from '../src/tensor/models/save.js';
import { buildModel } from '../src/tensor/models/zoo.js';
import { modelSchema } from '../src/spec/model.js';
import { JobSpecError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';
import { tempDir } from './helpers/cli.js';
import { relativeDiff } from './helpers/reference.js';

const tmp = tempDir();
beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(async () => {
  tmp.cleanup();
  await initBackend('cpu');
});

const rng = new Rng(11);
const randoms = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const model = (spec: Record<string, unknown>, inputShape: number[], classes = 10) => buildModel(modelSchema.parse(spec), { inputShape, classes }, 5);

/** Row-major [r, k] × [k, c]. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, r: number, k: number, c: number): number[] {
  const out = new Array<number>(r * c).fill(0);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) for (let t = 0; t < k; t++) out[i * c + j] += a[i * k + t] * b[t * c + j];
  return out;
}

/** Self-attention of one sample [T, d], written out head by head. */
function attentionByHand(x: Float32Array, t: number, d: number, heads: number, causal: boolean, w: Float32Array[]): number[] {
  const [wq, bq, wk, wv, bv, wo, bo] = w;
  const bk = new Float32Array(d); // the key has no bias
  const affine = (m: Float32Array, b: Float32Array, v: ArrayLike<number>) => matmul(v, m, t, d, d).map((u, i) => u + b[i % d]);
  const q = affine(wq, bq, x);
  const k = affine(wk, bk, x);
  const v = affine(wv, bv, x);
  const dh = d / heads;
  const merged = new Array<number>(t * d).fill(0);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < t; i++) {
      const seen = causal ? i + 1 : t;
      const scores = Array.from({ length: seen }, (_, j) => {
        let s = 0;
        for (let e = 0; e < dh; e++) s += q[i * d + h * dh + e] * k[j * d + h * dh + e];
        return s / Math.sqrt(dh);
      });
      const top = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - top));
      const total = exps.reduce((a, b) => a + b, 0);
      for (let j = 0; j < seen; j++) for (let e = 0; e < dh; e++) merged[i * d + h * dh + e] += (exps[j] / total) * v[j * d + h * dh + e];
    }
  }
  return affine(wo, bo, merged);
}

describe('transformer layers, against plain JavaScript', () => {
  for (const causal of [false, true]) {
    it(`multi-head self-attention${causal ? ' with the causal mask' : ''}`, async () => {
      const [b, t, d, heads] = [2, 5, 8, 2];
      const layer = new MultiHeadSelfAttention({ heads, causal, seed: 3 });
      const x = randoms(b * t * d);
      const y = (layer.apply(tf.tensor3d(x, [b, t, d])) as tf.Tensor).dataSync();
      // Non-zero biases, so that they are checked too.
      layer.weights.forEach((v) => v.shape.length === 1 && v.write(tf.tensor1d(randoms(d))));
      expect(layer.weights.map((v) => v.name.replace(/.*\//, ''))).toEqual(['query_kernel', 'query_bias', 'key_kernel', 'value_kernel', 'value_bias', 'output_kernel', 'output_bias']);
      const w = layer.getWeights().map((v) => v.dataSync() as Float32Array);
      const again = (layer.apply(tf.tensor3d(x, [b, t, d])) as tf.Tensor).dataSync();
      expect(relativeDiff(again, y)).toBeGreaterThan(1e-3); // the biases changed it
      for (let s = 0; s < b; s++) {
        const want = attentionByHand(x.subarray(s * t * d, (s + 1) * t * d), t, d, heads, causal, w);
        expect(relativeDiff(again.subarray(s * t * d, (s + 1) * t * d), want)).toBeLessThan(1e-5);
      }
    });
  }

  it('the causal mask: changing a later token leaves every earlier output as it was', () => {
    const layer = new MultiHeadSelfAttention({ heads: 2, causal: true, seed: 1 });
    const x = randoms(6 * 4);
    const y = (layer.apply(tf.tensor3d(x, [1, 6, 4])) as tf.Tensor).dataSync();
    x[4 * 4 + 1] += 1; // token 4
    const z = (layer.apply(tf.tensor3d(x, [1, 6, 4])) as tf.Tensor).dataSync();
    expect(Array.from(z.subarray(0, 16))).toEqual(Array.from(y.subarray(0, 16)));
    expect(relativeDiff(z.subarray(16), y.subarray(16))).toBeGreaterThan(1e-3);
  });

  it('layer normalization: each token by its own mean and variance, then γ and β', () => {
    const [t, d] = [3, 6];
    const layer = new LayerNorm();
    const x = randoms(t * d).map((v, i) => v * (1 + i) + i);
    layer.apply(tf.tensor3d(x, [1, t, d]));
    const gamma = randoms(d);
    const beta = randoms(d);
    layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const y = (layer.apply(tf.tensor3d(x, [1, t, d])) as tf.Tensor).dataSync();
    for (let i = 0; i < t; i++) {
      const row = Array.from(x.subarray(i * d, (i + 1) * d));
      const mean = row.reduce((a, b) => a + b, 0) / d;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
      const want = row.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma[j] + beta[j]);
      expect(relativeDiff(y.subarray(i * d, (i + 1) * d), want)).toBeLessThan(1e-5);
    }
  });

  it('sin/cos positions: even features sin(p/10000^(2i/d)), odd ones cos; learned ones are weights', () => {
    const [t, d] = [7, 6];
    const layer = new PositionEmbedding({ kind: 'sincos', seed: 1 });
    const y = (layer.apply(tf.zeros([1, t, d])) as tf.Tensor).dataSync();
    expect(layer.countParams()).toBe(0);
    for (let p = 0; p < t; p++) {
      for (let i = 0; i < d / 2; i++) {
        const angle = p * Math.exp((-2 * i * Math.log(10000)) / d);
        expect(y[p * d + 2 * i]).toBeCloseTo(Math.sin(angle), 5);
        expect(y[p * d + 2 * i + 1]).toBeCloseTo(Math.cos(angle), 5);
      }
    }
    const learned = new PositionEmbedding({ kind: 'learned', seed: 1 });
    learned.apply(tf.zeros([1, t, d]));
    expect(learned.countParams()).toBe(t * d);
  });

  it('patches: a 2×2-channel image cut into p×p squares, row by row, each in (row, column, channel) order', () => {
    const [h, w, c, p] = [4, 6, 2, 2];
    const x = Float32Array.from({ length: h * w * c }, (_, i) => i);
    const y = (new Patches({ patch: p }).apply(tf.tensor4d(x, [1, h, w, c])) as tf.Tensor);
    expect(y.shape).toEqual([1, (h / p) * (w / p), p * p * c]);
    const got = y.dataSync();
    let at = 0;
    for (let pr = 0; pr < h / p; pr++) {
      for (let pc = 0; pc < w / p; pc++) {
        for (let r = 0; r < p; r++) for (let col = 0; col < p; col++) for (let ch = 0; ch < c; ch++) {
          expect(got[at++]).toBe(x[((pr * p + r) * w + pc * p + col) * c + ch]);
        }
      }
    }
  });

  it("Tile's gradient: dy summed over the tiles (rank 1 to 4)", () => {
    const cases: [number[], number[]][] = [[[3], [4]], [[2, 3], [3, 2]], [[1, 1, 5], [2, 3, 1]], [[2, 1, 2, 3], [1, 3, 2, 1]]];
    for (const [shape, reps] of cases) {
      const x = tf.tensor(randoms(shape.reduce((a, b) => a * b, 1)), shape);
      const outShape = shape.map((n, i) => n * reps[i]);
      const dy = randoms(outShape.reduce((a, b) => a * b, 1));
      const got = tf.grad((v: tf.Tensor) => tf.tile(v, reps))(x, tf.tensor(dy, outShape)).dataSync();
      // Each output element's index, mod the input's shape, is the input element it copies.
      const want = new Array<number>(x.size).fill(0);
      const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((a, b) => a * b, 1));
      const outStrides = strides(outShape);
      const inStrides = strides(shape);
      for (let o = 0; o < dy.length; o++) {
        let src = 0;
        outShape.forEach((_, a) => (src += (Math.floor(o / outStrides[a]) % outShape[a] % shape[a]) * inStrides[a]));
        want[src] += dy[o];
      }
      expect(relativeDiff(got, want)).toBeLessThan(1e-6);
    }
  });
});

describe('transformer zoo models', () => {
  it('parameter counts are the formulas: patch or step projection, positions, per block 2 norms + 4 projections (3 biases) + feed-forward, final norm, logits', async () => {
    const [d, ff, classes] = [16, 24, 10];
    const block = 2 * 2 * d + 4 * d * d + 3 * d + (d * ff + ff) + (ff * d + d); // no key bias
    const tail = 2 * d + (d * classes + classes);
    // ViT on 28×28×1 with 7×7 patches: 16 tokens of 49 values; learned positions by default.
    expect((await model({ zoo: 'vit', patch: 7, dModel: d, ff, heads: 2, layers: 3 }, [28, 28, 1])).countParams()).toBe(49 * d + d + 16 * d + 3 * block + tail);
    // A transformer reads 28 rows of 28; sin/cos positions have no weights.
    expect((await model({ zoo: 'transformer', dModel: d, ff, heads: 4, layers: 1 }, [28, 28, 1])).countParams()).toBe(28 * d + d + block + tail);
    // A vector of 6 is 6 steps of one value.
    expect((await model({ zoo: 'transformer', dModel: d, ff, heads: 4, layers: 1, positions: 'learned' }, [6], 3)).countParams()).toBe(1 * d + d + 6 * d + block + 2 * d + d * 3 + 3);
  });

  it('the spec\'s errors name the key: heads that do not split dModel, a patch that does not tile, a ViT on vectors', async () => {
    const fails = async (spec: Record<string, unknown>, shape: number[], key: string, words: RegExp) => {
      const err = await model(spec, shape).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(JobSpecError);
      expect((err as JobSpecError).issues[0]).toMatchObject({ path: key });
      expect((err as JobSpecError).issues[0].message).toMatch(words);
    };
    await fails({ zoo: 'transformer', dModel: 30, heads: 4 }, [28, 28, 1], 'model.heads', /dModel 30 does not split into 4 heads/);
    await fails({ zoo: 'vit', patch: 5 }, [28, 28, 1], 'model.patch', /patch 5 does not tile 28×28/);
    await fails({ zoo: 'vit' }, [20], 'model.zoo', /cuts images/);
    expect(() => modelSchema.parse({ zoo: 'vit', positions: 'rotary' })).toThrow(/sincos/);
    expect(() => modelSchema.parse({ zoo: 'transformer', patch: 7 })).toThrow(/patch/);
  });

  it('save and load back to the same predictions (the custom layers are registered)', async () => {
    const m = await model({ zoo: 'vit', patch: 7, dModel: 16, heads: 2, layers: 1, ff: 16, dropout: 0.1 }, [28, 28, 1]);
    const x = tf.tensor4d(randoms(3 * 784), [3, 28, 28, 1]);
    const before = (m.predict(x) as tf.Tensor).dataSync();
    await saveModel(m, tmp.dir);
    const loaded = await tfl.loadLayersModel(fileLoadHandler(tmp.dir));
    expect(relativeDiff((loaded.predict(x) as tf.Tensor).dataSync(), before)).toBeLessThan(1e-6);
  });

  it('gradients on wasm equal cpu\'s (ViT, and a causal transformer with learned positions)', async () => {
    const x = randoms(8 * 784).map((v) => Math.abs(v) / 3);
    const labels = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 8 }, (_, i) => i % 10), 'int32'), 10);
    const gradients = async (backend: 'cpu' | 'wasm', spec: Record<string, unknown>) => {
      await initBackend(backend);
      const m = await model(spec, [28, 28, 1]);
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, m.apply(tf.tensor4d(x, [8, 28, 28, 1])) as tf.Tensor) as tf.Scalar, vars);
      const flat = vars.flatMap((v) => Array.from(grads[v.name].dataSync()));
      await initBackend('cpu');
      return flat;
    };
    for (const spec of [{ zoo: 'vit', patch: 7, dModel: 32, heads: 4, layers: 2, ff: 64 }, { zoo: 'transformer', causal: true, positions: 'learned', dModel: 16, heads: 2, layers: 1, ff: 32 }]) {
      const cpu = await gradients('cpu', spec);
      const wasm = await gradients('wasm', spec);
      expect(cpu.some((v) => v !== 0)).toBe(true);
      expect(relativeDiff(wasm, cpu)).toBeLessThan(1e-5);
    }
  });
});
