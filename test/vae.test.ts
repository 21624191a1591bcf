/**
 * The VAE's loss and step program in-process, against plain JavaScript in
 * float64: the Bernoulli reconstruction term (stable for large logits) and
 * the closed-form KL; a tiny encoder and decoder whose forward pass is
 * written out here, through a training step (KL weighed by β) and the
 * evaluation (β-free terms, noise keyed by the test index); no tensor
 * leaks, and an empty shard still takes part in the update.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DataSplits, Dataset } from '../src/data/dataset.js';
import { readAllParams } from '../src/tensor/flat.js';
import { bernoulliReconstruction, gaussianKl } from '../src/jobs/vae/loss.js';
import { buildVae } from '../src/jobs/vae/networks.js';
import { Draw, latentNoise } from '../src/jobs/vae/noise.js';
import { VaeProgram } from '../src/jobs/vae/program.js';
import { vaeJobSchema, type VaeJob } from '../src/jobs/vae/spec.js';
import { LocalUpdate } from '../src/worker/reducers/local-update.js';
import type { UpdateArgs } from '../src/worker/reducers/reducer.js';
import { rng } from './helpers/seeded-rng.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** log(1 + e^l), without overflow. */
const softplus = (l: number) => (l > 0 ? l + Math.log1p(Math.exp(-l)) : Math.log1p(Math.exp(l)));
/** −x·log σ(l) − (1 − x)·log(1 − σ(l)), with log σ(l) = −softplus(−l) and log(1 − σ(l)) = −softplus(l). */
const bce = (l: number, x: number) => x * softplus(-l) + (1 - x) * softplus(l);
const klOf = (mu: number[], lv: number[]) => 0.5 * mu.reduce((s, m, j) => s + Math.exp(lv[j]) + m * m - 1 - lv[j], 0);

const close = (got: number, want: number, rel = 2e-6) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));

describe('the VAE loss terms', () => {
  it('reconstruction: Σ of the Bernoulli cross-entropy of sigmoid(logit), finite for logits of ±100', () => {
    const r = rng(3);
    const logits = Array.from({ length: 3 * 5 }, (_, i) => (i % 7 === 0 ? (i % 2 ? 100 : -100) : 8 * r() - 4));
    const x = Array.from({ length: 15 }, (_, i) => (i % 4 === 0 ? 0 : i % 4 === 1 ? 1 : r()));
    const got = tf.tidy(() => bernoulliReconstruction(tf.tensor(logits, [3, 5, 1]), tf.tensor(x, [3, 5, 1])).dataSync());
    for (let i = 0; i < 3; i++) close(got[i], Array.from({ length: 5 }, (_, j) => bce(logits[i * 5 + j], x[i * 5 + j])).reduce((a, b) => a + b), 1e-5);
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
  });

  it('KL(N(μ, σ²) ‖ N(0, I)) in closed form, 0 exactly at the prior', () => {
    const r = rng(4);
    const mu = Array.from({ length: 8 }, () => 4 * r() - 2);
    const lv = Array.from({ length: 8 }, () => 4 * r() - 2);
    const got = tf.tidy(() => gaussianKl(tf.tensor2d(mu, [2, 4]), tf.tensor2d(lv, [2, 4])).dataSync());
    close(got[0], klOf(mu.slice(0, 4), lv.slice(0, 4)));
    close(got[1], klOf(mu.slice(4), lv.slice(4)));
    expect(Array.from(tf.tidy(() => gaussianKl(tf.zeros([1, 4]), tf.zeros([1, 4])).dataSync()))).toEqual([0]);
  });
});

/** A tiny job: 6 values a sample, one hidden layer of 3, a latent of 2, KL weighed by 2. */
const spec: VaeJob = vaeJobSchema.parse({
  name: 'tiny',
  type: 'vae',
  seed: 11,
  data: { source: 'csv', path: 'unused.csv', label: 0 },
  model: { zoo: 'mlp', hidden: [3] },
  vae: { latent: 2, beta: 2 },
  train: { batchSize: 4, optimizer: { name: 'sgd', lr: 0.1 } },
});

function tinyData(): DataSplits {
  const r = rng(9);
  const split = (size: number): Dataset => ({ size, featureShape: [6], classes: 2, x: Float32Array.from({ length: size * 6 }, () => r()), scale: 1, y: new Int32Array(size) });
  return { train: split(8), test: split(5) };
}

/** One worker: the update is the local optimizer step. */
function tinyProgram(data = tinyData()) {
  const networks = buildVae(spec.model, spec.vae.latent, [6], spec.seed);
  const params = readAllParams([networks.encoder, networks.decoder]);
  const initial = params.slice();
  const grads = new Float32Array(params.length);
  const local = new LocalUpdate({ optimizer: spec.train.optimizer });
  const seen: Float32Array[] = [];
  const update = async (u: UpdateArgs) => {
    seen.push(grads.slice());
    return local.apply(params, grads, u);
  };
  return { p: new VaeProgram({ spec, networks, data, params, grads, update }), networks, data, initial, seen };
}

/** A dense layer in float64: relu or linear. */
function dense(w: number[][], b: number[], x: number[], relu: boolean): number[] {
  return b.map((bj, j) => {
    const v = x.reduce((s, xi, i) => s + xi * w[i][j], bj);
    return relu ? Math.max(0, v) : v;
  });
}

function weightsOf(m: LayersModel): { w: number[][]; b: number[] }[] {
  const all = m.getWeights().map((t) => t.arraySync());
  return Array.from({ length: all.length / 2 }, (_, i) => ({ w: all[2 * i] as number[][], b: all[2 * i + 1] as number[] }));
}

/** A sample's two terms, written out: encoder 6 → 3 (relu) → [μ | logσ²], z = μ + e^(logσ²/2)·ε, decoder 2 → 3 (relu) → 6 logits. */
function byHand(enc: ReturnType<typeof weightsOf>, dec: ReturnType<typeof weightsOf>, x: number[], eps: number[]) {
  const out = dense(enc[1].w, enc[1].b, dense(enc[0].w, enc[0].b, x, true), false);
  const [mu, lv] = [out.slice(0, 2), out.slice(2)];
  const z = mu.map((m, j) => m + Math.exp(lv[j] / 2) * eps[j]);
  const logits = dense(dec[1].w, dec[1].b, dense(dec[0].w, dec[0].b, z, true), false);
  return { reconstruction: logits.reduce((s, l, i) => s + bce(l, x[i]), 0), kl: klOf(mu, lv) };
}

describe('the VAE step program', () => {
  it('a step reports Σ reconstruction + β·KL over its shard, with ε keyed by the shard offset, as written out by hand', async () => {
    const { p, networks, data } = tinyProgram();
    const enc = weightsOf(networks.encoder);
    const dec = weightsOf(networks.decoder);
    const indices = Int32Array.from([5, 1, 6]);
    const eps = latentNoise(spec.seed, Draw.training, 3, 4, 3, 2);
    const want = Array.from(indices, (idx, i) => byHand(enc, dec, Array.from((data.train as Dataset).x.subarray(idx * 6, idx * 6 + 6)), Array.from(eps.subarray(2 * i, 2 * i + 2))));
    const r = await p.train({ step: 3, epoch: 0, lr: 0.1, globalBatch: 7, indices, offset: 4 });
    const rec = want.reduce((s, t) => s + t.reconstruction, 0);
    const kl = want.reduce((s, t) => s + t.kl, 0);
    close(r.counts.reconstruction, rec);
    close(r.counts.kl, kl);
    close(r.lossSum, rec + 2 * kl);
    expect(r.count).toBe(3);
  });

  it('the evaluation sums the β-free terms with ε keyed by the test index, the same however the test set is cut', async () => {
    const { p, networks, data } = tinyProgram();
    const enc = weightsOf(networks.encoder);
    const dec = weightsOf(networks.decoder);
    const all = Int32Array.from([0, 1, 2, 3, 4]);
    const want = Array.from(all, (idx) => byHand(enc, dec, Array.from((data.test as Dataset).x.subarray(idx * 6, idx * 6 + 6)), Array.from(latentNoise(spec.seed, Draw.evaluation, 0, idx, 1, 2))));
    const whole = await p.evaluate(all);
    close(whole.counts.reconstruction, want.reduce((s, t) => s + t.reconstruction, 0));
    close(whole.counts.kl, want.reduce((s, t) => s + t.kl, 0));
    close(whole.lossSum, want.reduce((s, t) => s + t.reconstruction + 2 * t.kl, 0));
    const [a, b] = [await p.evaluate(all.subarray(0, 2)), await p.evaluate(all.subarray(2))];
    close(a.counts.kl + b.counts.kl, whole.counts.kl, 1e-6);
    close(a.counts.reconstruction + b.counts.reconstruction, whole.counts.reconstruction, 1e-6);
  });

  it('leaks no tensors over steps and evaluations', async () => {
    const { p } = tinyProgram();
    const indices = Int32Array.from([0, 1, 2, 3]);
    await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 4, indices, offset: 0 });
    await p.evaluate(indices);
    const before = tf.memory().numTensors;
    for (let s = 1; s < 6; s++) await p.train({ step: s, epoch: 0, lr: 0.1, globalBatch: 4, indices, offset: 0 });
    await p.evaluate(indices);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an empty shard contributes a zero gradient and still takes part in the update', async () => {
    const { p, initial, seen } = tinyProgram();
    const r = await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 4, indices: new Int32Array(0), offset: 4 });
    expect(seen).toHaveLength(1);
    expect(seen[0].every((v) => v === 0)).toBe(true);
    expect(r).toMatchObject({ count: 0, lossSum: 0, counts: {} });
    expect(Array.from(p.params())).toEqual(Array.from(initial));
  });
});
