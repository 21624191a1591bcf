/**
 * N workers equal one process for seq2seq jobs: 3 step programs in this
 * process, their gradient sums exchanged through an in-memory sum and each
 * applying the job's update itself (as the ring does), against the plain
 * single-process loop of test/helpers/seq2seq-reference.ts: weights within
 * 1e-5 relative after 10 steps, on cpu and on wasm, for a GRU with additive
 * attention and a bidirectional LSTM with dot attention. The comparison can
 * fail: the reference without its gradient clipping differs, and so do
 * workers that average their shards' mean gradients.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardBounds } from '../src/data/sharding.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { buildSeq2seq } from '../src/jobs/seq2seq/model.js';
import { Seq2seqProgram } from '../src/jobs/seq2seq/program.js';
import { asSeq2seq, type Seq2seqJob } from '../src/jobs/seq2seq/spec.js';
import { initBackend } from '../src/tensor/backend.js';
import { readAllParams } from '../src/tensor/flat.js';
import type { UpdateArgs } from '../src/worker/reducers/reducer.js';
import { TOLERANCE } from './helpers/dtrain-run.js';
import { ringUpdates, trainShards } from './helpers/simulated-ring.js';
import { relativeDiff } from './helpers/reference.js';
import { seq2seqReference } from './helpers/seq2seq-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const job = (model: Record<string, unknown>): Seq2seqJob =>
  asSeq2seq(
    parseJobSpec(
      {
        name: 's2s-equiv',
        type: 'seq2seq',
        seed: 6,
        data: { vocab: 5, minLength: 2, maxLength: 5, train: 200, test: 20 },
        model: { units: 8, embedding: 6, ...model },
        // 11 a batch: shards of 3, 4 and 4.
        train: { batchSize: 11, maxSteps: 10, optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 0.5 },
      },
      's2s job',
    ),
  );

/**
 * N step programs in this process; each update waits for all N gradients, sums them, and applies the rule to its own replica.
 * `meanOfMeans`: the mistake of averaging each shard's mean gradient instead of summing the shards (the shards are uneven).
 */
async function distributed(spec: Seq2seqJob, n: number, meanOfMeans = false): Promise<Float32Array[]> {
  const workers = Array.from({ length: n }, () => {
    const model = buildSeq2seq(spec);
    const params = readAllParams([model]);
    return { model, params, grads: new Float32Array(params.length) };
  });
  const shardSize = (r: number, u: UpdateArgs) => {
    const [a, b] = shardBounds(u.globalBatch, r, n);
    return b - a;
  };
  const updates = ringUpdates(workers, { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm }, meanOfMeans ? (r, u) => u.globalBatch / n / Math.max(1, shardSize(r, u)) : undefined);
  const programs = workers.map((w, r) => new Seq2seqProgram({ spec, model: w.model, params: w.params, grads: w.grads, update: updates[r] }));
  await trainShards(programs, { seed: spec.seed, trainSize: spec.data.train, train: spec.train });
  const params = programs.map((p) => p.params());
  for (const { model } of workers) model.dispose();
  return params;
}

const models = {
  'gru, additive attention': { cell: 'gru', attention: 'additive' },
  'bidirectional lstm, dot attention': { cell: 'lstm', attention: 'dot', bidirectional: true },
};

describe('seq2seq steps: 3 workers equal one process', () => {
  for (const [name, model] of Object.entries(models)) {
    describe(name, () => {
      const spec = job(model);
      let reference: Float32Array;
      beforeAll(() => {
        reference = seq2seqReference(spec);
      });

      for (const backend of ['cpu', 'wasm'] as const) {
        it(`on ${backend}: weights within ${TOLERANCE} relative after 10 steps, every replica the same`, async () => {
          await initBackend(backend);
          const replicas = await distributed(spec, 3);
          await tf.setBackend('cpu');
          expect(relativeDiff(replicas[0], reference)).toBeLessThanOrEqual(TOLERANCE);
          for (const r of replicas) expect(Array.from(r)).toEqual(Array.from(replicas[0]));
        });
      }

      it('the comparison can fail: without its gradient clipping the reference differs', () => {
        expect(relativeDiff(seq2seqReference(spec, { noClip: true }), reference)).toBeGreaterThan(100 * TOLERANCE);
      });

      it('the comparison can fail: workers that average their shards\' mean gradients (shards of 3, 4 and 4) differ', async () => {
        const replicas = await distributed(spec, 3, true);
        expect(relativeDiff(replicas[0], reference)).toBeGreaterThan(100 * TOLERANCE);
      });
    });
  }
});
