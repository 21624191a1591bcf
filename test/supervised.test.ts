/** The supervised step program in-process: no tensor leaks, empty shards, and the sum-loss normalization. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadData } from '../src/data/load.js';
import { layoutOf, readParams } from '../src/tensor/flat.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { asSupervised } from '../src/jobs/supervised/spec.js';
import { buildJobModel } from '../src/jobs/supervised/model.js';
import { objectiveOf } from '../src/tensor/objective.js';
import { LocalUpdate } from '../src/worker/reducers/local-update.js';
import type { UpdateArgs } from '../src/worker/reducers/reducer.js';
import { SupervisedProgram } from '../src/jobs/supervised/program.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const spec = asSupervised(parseJobSpec(
  {
    name: 'unit',
    seed: 5,
    data: { source: 'synthetic', kind: 'spirals', samples: 300, features: 2, classes: 3 },
    model: { zoo: 'mlp', hidden: [16], dropout: 0.3 },
    train: { batchSize: 30, optimizer: { name: 'momentum', lr: 0.1 }, clipNorm: 1 },
  },
  'unit job',
));

/** A one-worker job: the update is the local optimizer step, after `observe` has seen the gradient going in. */
async function program(observe: (g: Float32Array) => void = () => undefined, job = spec) {
  const spec = job;
  const data = loadData(spec.data, spec.seed);
  const model = await buildJobModel(spec, data);
  const initial = readParams(model, layoutOf(model));
  const grads = new Float32Array(initial.length);
  const local = new LocalUpdate({ optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm });
  const params = initial.slice();
  const update = async (u: UpdateArgs) => {
    observe(grads);
    return local.apply(params, grads, u);
  };
  const p = new SupervisedProgram({ spec, model, data, params, grads, update, objective: objectiveOf(spec.train.loss, data.train.classes), broadcastState: async (v) => v });
  return { p, grads, initial };
}

describe('supervised step program', () => {
  it('leaks no tensors over many steps and evaluations', async () => {
    const { p } = await program();
    const indices = Int32Array.from({ length: 30 }, (_, i) => i);
    await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 30, indices });
    p.evaluate(indices);
    const before = tf.memory().numTensors;
    for (let s = 1; s < 30; s++) await p.train({ step: s, epoch: 0, lr: 0.1, globalBatch: 30, indices });
    p.evaluate(indices);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with batch-norm: no leaks either, and the moving statistics move once a step', async () => {
    const bn = asSupervised(parseJobSpec({ ...spec, model: { zoo: 'mlp', hidden: [16], batchNorm: 'sync' } }, 'unit job'));
    const { p } = await program(undefined, bn);
    const indices = Int32Array.from({ length: 30 }, (_, i) => i);
    const before0 = Array.from(p.state());
    await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 30, indices });
    p.evaluate(indices);
    const after1 = Array.from(p.state());
    expect(after1).not.toEqual(before0);
    const before = tf.memory().numTensors;
    for (let s = 1; s < 10; s++) await p.train({ step: s, epoch: 0, lr: 0.1, globalBatch: 30, indices });
    p.evaluate(indices);
    await p.agreeState();
    expect(tf.memory().numTensors).toBe(before);
    // An empty shard (one replica: nothing to sum) commits nothing.
    const s10 = Array.from(p.state());
    await p.train({ step: 10, epoch: 0, lr: 0.1, globalBatch: 30, indices: new Int32Array(0) });
    expect(Array.from(p.state())).toEqual(s10);
  });

  it('an empty shard contributes zero gradient and still takes part in the update', async () => {
    let called = 0;
    const { p, grads, initial } = await program((g) => {
      called++;
      expect(Array.from(g).every((v) => v === 0)).toBe(true);
    });
    grads.fill(7); // stale values from an earlier step must not leak in
    const r = await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 30, indices: new Int32Array(0) });
    expect(called).toBe(1);
    expect(r).toMatchObject({ count: 0, lossSum: 0, counts: {} }); // nothing counted: the coordinator's sums take a missing count as 0
    expect(Array.from(p.params())).toEqual(Array.from(initial));
  });

  it('reports the summed loss of its shard and the correct count', async () => {
    const { p } = await program();
    const r = await p.train({ step: 0, epoch: 0, lr: 0.1, globalBatch: 30, indices: Int32Array.from({ length: 30 }, (_, i) => i) });
    expect(r.count).toBe(30);
    // An untrained 3-class model: mean loss near ln 3 per sample.
    expect(r.lossSum / 30).toBeGreaterThan(0.8);
    expect(r.lossSum / 30).toBeLessThan(1.6);
    expect(r.counts.correct).toBeGreaterThanOrEqual(0);
    expect(r.counts.correct).toBeLessThanOrEqual(30);
  });
});
