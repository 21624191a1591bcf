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
import { BatchSchedule, planSteps, shardBounds } from '../src/data/sharding.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { buildSeq2seq } from '../src/jobs/seq2seq/model.js';
import { Seq2seqProgram } from '../src/jobs/seq2seq/program.js';
import { asSeq2seq, type Seq2seqJob } from '../src/jobs/seq2seq/spec.js';
import { initBackend } from '../src/tensor/backend.js';
import { readAllParams } from '../src/tensor/flat.js';
import { LocalUpdate } from '../src/worker/reducers/local-update.js';
import type { UpdateArgs } from '../src/worker/reducers/reducer.js';
import { TOLERANCE } from './helpers/dtrain-run.js';
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
  let waiting: { grads: Float32Array; apply: () => boolean; done: (applied: boolean) => void }[] = [];
  const shardSizes = new Array<number>(n).fill(0);
  const programs = Array.from({ length: n }, (_, rank) => {
    const model = buildSeq2seq(spec);
    const params = readAllParams([model]);
    const grads = new Float32Array(params.length);
    const local = new LocalUpdate({ optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm });
    const update = (u: UpdateArgs) =>
      new Promise<boolean>((done) => {
        waiting[rank] = { grads, apply: () => local.apply(params, grads, u), done };
        if (waiting.filter(Boolean).length < n) return;
        const total = new Float32Array(grads.length);
        waiting.forEach((w, r) => {
          const weight = meanOfMeans ? u.globalBatch / n / Math.max(1, shardSizes[r]) : 1;
          w.grads.forEach((g, i) => (total[i] += g * weight));
        });
        const all = waiting;
        waiting = [];
        for (const w of all) {
          w.grads.set(total);
          w.done(w.apply());
        }
      });
    return { program: new Seq2seqProgram({ spec, model, params, grads, update }), model };
  });
  const plan = planSteps(spec.data.train, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, spec.data.train, spec.train.batchSize, plan);
  for (let step = 0; step < plan.totalSteps; step++) {
    const batch = schedule.batch(step);
    await Promise.all(
      programs.map(({ program }, r) => {
        const [a, b] = shardBounds(batch.length, r, n);
        shardSizes[r] = b - a;
        return program.train({ step, epoch: 0, lr: spec.train.optimizer.lr, globalBatch: batch.length, indices: batch.slice(a, b), offset: a });
      }),
    );
  }
  const params = programs.map(({ program }) => program.params());
  for (const { model } of programs) model.dispose();
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
