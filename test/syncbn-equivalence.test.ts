/**
 * Synchronized batch-norm across real worker processes equals single-process
 * tfjs with tfjs-layers' standard BatchNormalization on the same global
 * batches: trainable weights and moving statistics, within 1e-5 relative.
 * Local batch-norm does not (so the comparison can fail).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gather } from '../src/data/dataset.js';
import { loadData } from '../src/data/load.js';
import { readState } from '../src/tensor/flat.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { FASHION_MNIST } from './helpers/cli.js';
import { dtrainRun, equivalenceRuns, report, savedModel, TOLERANCE, WEBGPU_TOLERANCE } from './helpers/dtrain-run.js';
import { flatWeights, referenceTrain, relativeDiff } from './helpers/reference.js';

const tmp = equivalenceRuns();

/** A CNN with batch-norm after each conv and dense layer; 47 a batch splits 24/23 and 16/16/15. */
const job = (batchNorm: string, extra: { limit?: number; epochs?: number; dense?: number[] } = {}) => ({
  name: 'syncbn',
  seed: 3,
  data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: extra.limit ?? 1000, testLimit: 200 },
  model: { zoo: 'cnn', conv: [4, 8], kernelSize: 3, dense: extra.dense ?? [16], batchNorm },
  train: { maxSteps: 21, epochs: extra.epochs ?? 1, batchSize: 47, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 2 },
  cluster: { backend: 'wasm' },
});

interface Trained {
  weights: Float32Array;
  state: Float32Array;
}

async function reference(j: Record<string, unknown>): Promise<Trained> {
  const model = await referenceTrain(parseJobSpec(j, 'syncbn job'), { standardLayers: true });
  return { weights: flatWeights(model), state: readState(model) };
}

/**
 * The saved model, loaded by plain tfjs (its standard BatchNormalization),
 * evaluated with tfjs's own loss on the job's test split: the figures of the
 * run's summary.json.
 */
async function expectSavedModelGivesTheRunsEvaluation(j: Record<string, unknown>, tag: string): Promise<void> {
  const model = await savedModel(join(tmp.dir, tag));
  expect(model.layers.map((l) => l.getClassName())).toContain('BatchNormalization');
  const spec = parseJobSpec(j, 'syncbn job');
  const test = loadData(spec.data, spec.seed).test;
  const all = Int32Array.from({ length: test.size }, (_, i) => i);
  const b = gather(test, all);
  const [loss, accuracy] = tf.tidy(() => {
    const logits = model.predict(tf.tensor(b.x, [test.size, ...test.featureShape])) as tf.Tensor;
    const labels = tf.tensor1d(b.y, 'int32');
    const mean = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, test.classes), logits);
    const right = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
    return [mean.dataSync()[0], right.dataSync()[0] / test.size];
  });
  const summary = JSON.parse(readFileSync(join(tmp.dir, tag, 'summary.json'), 'utf8'));
  expect(accuracy).toBe(summary.eval.accuracy);
  expect(Math.abs(loss - summary.eval.loss) / loss).toBeLessThan(TOLERANCE);
}

async function run(j: Record<string, unknown>, flags: string[], tag: string): Promise<Trained> {
  const weights = await dtrainRun(tmp.dir, j, flags, tag);
  return { weights, state: readState(await savedModel(join(tmp.dir, tag))) };
}

describe.skipIf(!existsSync(FASHION_MNIST))('synchronized batch-norm equals one process with tfjs BatchNormalization', () => {
  let ref: Trained;
  beforeAll(async () => {
    ref = await reference(job('sync'));
  });

  for (const workers of [2, 3]) {
    it(`${workers} workers, ring, uneven shards: weights and moving statistics within ${TOLERANCE}`, async () => {
      const got = await run(job('sync'), ['--workers', String(workers)], `sync-ring-${workers}`);
      expect(relativeDiff(got.weights, ref.weights)).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeDiff(got.state, ref.state)).toBeLessThanOrEqual(TOLERANCE);
      await expectSavedModelGivesTheRunsEvaluation(job('sync'), `sync-ring-${workers}`);
    });
  }

  it(`2 workers on webgpu (software rendering here): weights and moving statistics within ${WEBGPU_TOLERANCE}`, async () => {
    const got = await run({ ...job('sync'), cluster: { backend: 'webgpu' } }, ['--workers', '2'], 'sync-webgpu-2');
    report('webgpu synchronized batch-norm CNN, 2 workers vs one cpu process: weights', relativeDiff(got.weights, ref.weights));
    report('webgpu synchronized batch-norm CNN, 2 workers vs one cpu process: moving statistics', relativeDiff(got.state, ref.state));
    expect(relativeDiff(got.weights, ref.weights)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    expect(relativeDiff(got.state, ref.state)).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
  });

  it('2 workers, 2 parameter-server shards: the same', async () => {
    const got = await run(job('sync'), ['--workers', '2', '--strategy', 'ps', '--ps-shards', '2'], 'sync-ps-2');
    expect(relativeDiff(got.weights, ref.weights)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeDiff(got.state, ref.state)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('local batch-norm with 2 workers does not match (each normalizes its own shard)', async () => {
    const got = await run(job('local'), ['--workers', '2'], 'local-ring-2');
    expect(relativeDiff(got.weights, ref.weights)).toBeGreaterThan(100 * TOLERANCE);
    expect(relativeDiff(got.state, ref.state)).toBeGreaterThan(100 * TOLERANCE);
    // Both workers evaluated with rank 0's moving statistics, the ones saved.
    await expectSavedModelGivesTheRunsEvaluation(job('local'), 'local-ring-2');
  });

  it('a worker with an empty shard takes part, and the job still equals one process', async () => {
    // 96 samples in batches of 47: each epoch ends with a batch of 2, which
    // leaves one of 3 workers without samples. (No hidden dense layer: the
    // batch-norm of 2 values a channel cancels to rounding noise.)
    const small = job('sync', { limit: 96, epochs: 3, dense: [] });
    const expected = await reference(small);
    const got = await run(small, ['--workers', '3'], 'sync-empty-3');
    expect(relativeDiff(got.weights, expected.weights)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeDiff(got.state, expected.state)).toBeLessThanOrEqual(TOLERANCE);
  });
});
