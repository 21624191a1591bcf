/**
 * N workers equal one process for VAE jobs: the step program on 3
 * simulated workers (uneven shards of a 25-sample batch, their gradients
 * summed in memory, each replica stepping its own optimizer) against a
 * plain single-process tfjs loop (tfjs's Adam, its sigmoid cross-entropy,
 * the batch's MEAN loss, ε drawn here from its key), on the cpu and the
 * wasm backends, for the mlp and the conv networks (transposed
 * convolutions: their wasm gradients are dtrain's kernels): weights within
 * 1e-5 relative after 10 steps. The comparison can fail: noise keyed by the
 * position in each worker's shard instead of in the global batch.
 */
import { existsSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gather, type Dataset, type DataSplits } from '../src/data/dataset.js';
import { loadData } from '../src/data/load.js';
import { BatchSchedule, planSteps } from '../src/data/sharding.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { buildVae } from '../src/jobs/vae/networks.js';
import { VaeProgram } from '../src/jobs/vae/program.js';
import type { VaeJob } from '../src/jobs/vae/spec.js';
import { registerWasmTrainingKernels } from '../src/tensor/kernels/wasm.js';
import { readAllParams } from '../src/tensor/flat.js';
import { hashInts, Rng, Stream } from '../src/util/rng.js';
import { FASHION_MNIST } from './helpers/cli.js';
import { TOLERANCE } from './helpers/dtrain-run.js';
import { ringUpdates, trainShards } from './helpers/simulated-ring.js';
import { flatWeights, relativeDiff, tfOptimizer } from './helpers/reference.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

const job = (model: Record<string, unknown>) =>
  parseJobSpec(
    {
      name: 'vae-equiv',
      type: 'vae',
      seed: 6,
      data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 250, testLimit: 10 },
      model,
      vae: { latent: 4, beta: 0.7 },
      train: { batchSize: 25, maxSteps: 10, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 40 },
    },
    'vae job',
  ) as VaeJob;

const MODELS = { mlp: { zoo: 'mlp', hidden: [24] }, conv: { zoo: 'conv', filters: [3, 4], kernelSize: 3 } };

/** The reference's ε for the sample at `position` of step `step`'s global batch: its key written out. */
function referenceNoise(seed: number, step: number, batch: number, latent: number): Float32Array {
  const out = new Float32Array(batch * latent);
  for (let j = 0; j < batch; j++) {
    const r = new Rng(hashInts(seed, Stream.reparameterisation, 0, step, j));
    for (let i = 0; i < latent; i++) out[j * latent + i] = r.normal();
  }
  return out;
}

/** One process, plain tfjs: the mean over the batch of reconstruction + β·KL, tfjs's optimizer, clipping by global norm. */
function reference(spec: VaeJob, data: DataSplits): Float32Array {
  const train = data.train as Dataset;
  const { encoder, decoder } = buildVae(spec.model, spec.vae.latent, train.featureShape, spec.seed);
  const vars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const opt = tfOptimizer(spec.train.optimizer);
  const plan = planSteps(train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, train.size, spec.train.batchSize, plan);
  const L = spec.vae.latent;
  for (let step = 0; step < plan.totalSteps; step++) {
    const idx = schedule.batch(step);
    const B = idx.length;
    const x = tf.tensor(gather(train, idx).x, [B, ...train.featureShape]);
    const eps = tf.tensor2d(referenceNoise(spec.seed, step, B, L), [B, L]);
    const { value, grads } = tf.variableGrads(() => {
      const out = encoder.apply(x) as tf.Tensor2D;
      const mu = tf.slice(out, [0, 0], [B, L]);
      const logVar = tf.slice(out, [0, L], [B, L]);
      const z = tf.add(mu, tf.mul(tf.sqrt(tf.exp(logVar)), eps));
      const logits = tf.reshape(decoder.apply(z) as tf.Tensor, [B, -1]);
      const rec = tf.losses.sigmoidCrossEntropy(tf.reshape(x, [B, -1]), logits, undefined, 0, tf.Reduction.SUM);
      const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logVar), tf.square(mu)), tf.exp(logVar))));
      return tf.div(tf.add(rec, tf.mul(spec.vae.beta, kl)), B) as tf.Scalar;
    }, vars);
    const clip = spec.train.clipNorm!;
    const clipped = tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
      const scale = tf.div(clip, tf.maximum(norm, clip));
      return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
    });
    opt.applyGradients(clipped);
    tf.dispose([x, eps, value, ...Object.values(grads), ...Object.values(clipped)]);
  }
  const weights = new Float32Array([...flatWeights(encoder), ...flatWeights(decoder)]);
  encoder.dispose();
  decoder.dispose();
  opt.dispose();
  return weights;
}

/**
 * n VaePrograms in this process: `update` sums the n gradient buffers once
 * all have arrived and each replica applies the job's rule to the sum.
 * `shardOffsets: false` gives every worker offset 0 (noise keyed by rank-local position).
 */
async function distributed(spec: VaeJob, data: DataSplits, n: number, shardOffsets = true): Promise<Float32Array[]> {
  const workers = Array.from({ length: n }, () => {
    const networks = buildVae(spec.model, spec.vae.latent, data.train.featureShape, spec.seed);
    const params = readAllParams([networks.encoder, networks.decoder]);
    return { networks, params, grads: new Float32Array(params.length) };
  });
  const updates = ringUpdates(workers, { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm });
  const programs = workers.map((w, r) => new VaeProgram({ spec, networks: w.networks, data, params: w.params, grads: w.grads, update: updates[r] }));
  await trainShards(programs, { seed: spec.seed, trainSize: data.train.size, train: spec.train, offsets: shardOffsets });
  const out = programs.map((p) => p.params());
  for (const { networks } of workers) [networks.encoder, networks.decoder].forEach((m) => m.dispose());
  return out;
}

describe.skipIf(!existsSync(FASHION_MNIST))('VAE steps: N workers equal one process', () => {
  let data: DataSplits;
  beforeAll(() => {
    registerWasmTrainingKernels();
    tf.enableProdMode();
    data = loadData(job(MODELS.mlp).data, 6);
  });

  for (const backend of ['cpu', 'wasm']) {
    for (const [name, model] of Object.entries(MODELS)) {
      it(`${name} on ${backend}: 1 and 3 workers within ${TOLERANCE} of the single-process tfjs loop after 10 steps`, async () => {
        await tf.setBackend(backend);
        const spec = job(model);
        const ref = reference(spec, data);
        const [one] = await distributed(spec, data, 1);
        const three = await distributed(spec, data, 3);
        expect(relativeDiff(one, ref)).toBeLessThanOrEqual(TOLERANCE);
        expect(relativeDiff(three[0], ref)).toBeLessThanOrEqual(TOLERANCE);
        for (const p of three) expect(Array.from(p)).toEqual(Array.from(three[0]));
        // The steps changed the weights by far more than the tolerance.
        const initial = (() => {
          const nets = buildVae(spec.model, spec.vae.latent, data.train.featureShape, spec.seed);
          const w = readAllParams([nets.encoder, nets.decoder]);
          nets.encoder.dispose();
          nets.decoder.dispose();
          return w;
        })();
        expect(relativeDiff(initial, ref)).toBeGreaterThan(100 * TOLERANCE);
      });
    }
  }

  it('the comparison can fail: noise keyed by the position in each shard (the same for every rank) is another computation', async () => {
    await tf.setBackend('cpu');
    const spec = job(MODELS.mlp);
    const ref = reference(spec, data);
    const [rankKeyed] = await distributed(spec, data, 3, false);
    expect(relativeDiff(rankKeyed, ref)).toBeGreaterThan(100 * TOLERANCE);
  });
});
