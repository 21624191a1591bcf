import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { layoutOf, readParams, readState, stateLength, writeParams, writeState } from '../src/tensor/flat.js';
import { buildModel } from '../src/tensor/models/zoo.js';
import { JobSpecError } from '../src/util/errors.js';
import { SeededDropout, setDropoutContext } from '../src/tensor/layers/seeded-dropout.js';
import { fileLoadHandler, saveModel } from '../src/tensor/models/save.js';
import { hasReplicaState, SyncBatchNormalization } from '../src/tensor/layers/sync-batch-norm.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

describe('zoo models', () => {
  it('the same seed builds the same weights; another seed, others', async () => {
    const spec = { zoo: 'mlp' as const, hidden: [16], activation: 'relu' as const, dropout: 0, batchNorm: 'none' as const };
    const a = await buildModel(spec, { inputShape: [5], classes: 3 }, 1);
    const b = await buildModel(spec, { inputShape: [5], classes: 3 }, 1);
    const c = await buildModel(spec, { inputShape: [5], classes: 3 }, 2);
    const p = (m: tfl.LayersModel) => Array.from(readParams(m, layoutOf(m)));
    expect(p(a)).toEqual(p(b));
    expect(p(a)).not.toEqual(p(c));
    expect(layoutOf(a).total).toBe(5 * 16 + 16 + 16 * 3 + 3);
  });

  it('the cnn takes images and outputs logits', async () => {
    const m = await buildModel({ zoo: 'cnn', conv: [4, 8], kernelSize: 3, dense: [16], activation: 'relu', dropout: 0.1, batchNorm: 'none' }, { inputShape: [28, 28, 1], classes: 10 }, 1);
    expect((m.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor).shape).toEqual([2, 10]);
  });

  it('flat buffers round-trip through the model', async () => {
    const m = await buildModel({ zoo: 'mlp', hidden: [4], activation: 'tanh', dropout: 0, batchNorm: 'none' }, { inputShape: [3], classes: 2 }, 1);
    const layout = layoutOf(m);
    const v = Float32Array.from({ length: layout.total }, (_, i) => i / 10);
    writeParams(m, layout, v);
    expect(Array.from(readParams(m, layout))).toEqual(Array.from(v));
  });
});

describe('tfjs-layers topologies', () => {
  const topology = () =>
    tfl
      .sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 6, activation: 'tanh' }), tfl.layers.dense({ units: 3 })] })
      .toJSON(undefined, false) as unknown as Record<string, unknown>;

  it('builds a model from a topology that fits the data', async () => {
    const m = await buildModel({ topology: topology() }, { inputShape: [4], classes: 3 }, 1);
    expect(layoutOf(m).total).toBe(4 * 6 + 6 + 6 * 3 + 3);
  });
  it('names the mismatch when the topology does not fit the data', async () => {
    await expect(buildModel({ topology: topology() }, { inputShape: [5], classes: 3 }, 1)).rejects.toThrow(JobSpecError);
    await expect(buildModel({ topology: topology() }, { inputShape: [4], classes: 10 }, 1)).rejects.toThrow(/output shape \[3\] does not fit 10 classes/);
    await expect(buildModel({ topology: { class_name: 'Nope', config: {} } }, { inputShape: [4], classes: 3 }, 1)).rejects.toThrow(/not a valid tfjs-layers topology/);
  });
});

describe('seeded dropout', () => {
  const layer = new SeededDropout({ rate: 0.5, salt: 0 });
  const run = (indices: number[], step = 3) => {
    layer.context = { seed: 1, step, sampleIndices: indices };
    return layer.apply(tf.ones([indices.length, 64]), { training: true }) as tf.Tensor;
  };
  it('masks a sample the same way whatever batch it is in (so sharding does not matter)', () => {
    const whole = run([10, 11, 12]).arraySync() as number[][];
    const part = run([12]).arraySync() as number[][];
    expect(part[0]).toEqual(whole[2]);
    expect(whole[0]).not.toEqual(whole[1]);
    expect(run([10], 4).arraySync()).not.toEqual([whole[0]]);
  });
  it('drops about the rate and scales the rest by 1/(1-rate); identity at inference', () => {
    const v = run(Array.from({ length: 100 }, (_, i) => i)).dataSync();
    const kept = v.filter((x) => x !== 0);
    expect(kept.length / v.length).toBeGreaterThan(0.45);
    expect(kept.length / v.length).toBeLessThan(0.55);
    expect(new Set(kept)).toEqual(new Set([2]));
    expect(Array.from((layer.apply(tf.ones([2, 3])) as tf.Tensor).dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
  });
  it('refuses a training pass without a context', () => {
    layer.context = undefined;
    expect(() => layer.apply(tf.ones([1, 2]), { training: true })).toThrow(/without a dropout context/);
  });
});

describe('saved models', () => {
  it('load in plain tfjs (SeededDropout saved as Dropout) and predict the same', async () => {
    const m = await buildModel({ zoo: 'mlp', hidden: [8], activation: 'relu', dropout: 0.3, batchNorm: 'none' }, { inputShape: [28, 28, 1], classes: 10 }, 4);
    const dir = join(tmp.dir, 'm');
    await saveModel(m, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const classes = (json.modelTopology.config.layers as { class_name: string }[]).map((l) => l.class_name);
    expect(classes).toEqual(['Flatten', 'Dense', 'Dropout', 'Dense']);
    const loaded = await tfl.loadLayersModel(fileLoadHandler(dir));
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
    setDropoutContext(m, undefined);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
  });

  it('a batch-norm cnn loads in plain tfjs (SyncBatchNormalization saved as BatchNormalization) with its moving statistics', async () => {
    const m = await buildModel({ zoo: 'cnn', conv: [4], kernelSize: 3, dense: [6], activation: 'relu', dropout: 0, batchNorm: 'sync' }, { inputShape: [8, 8, 1], classes: 3 }, 4);
    // Moving statistics away from their initial values, as after training.
    writeState(m, Float32Array.from({ length: stateLength(m) }, (_, i) => 0.5 + (i % 7) / 10));
    const dir = join(tmp.dir, 'bn');
    await saveModel(m, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const classes = (json.modelTopology.config.layers as { class_name: string }[]).map((l) => l.class_name);
    expect(classes).toEqual(['Conv2D', 'BatchNormalization', 'Activation', 'MaxPooling2D', 'Flatten', 'Dense', 'BatchNormalization', 'Activation', 'Dense']);
    const loaded = await tfl.loadLayersModel(fileLoadHandler(dir));
    expect(Array.from(readState(loaded))).toEqual(Array.from(readState(m)));
    const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 5);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
  });

  it('a topology can name SyncBatchNormalization, and gets the layer', async () => {
    const zoo = await buildModel({ zoo: 'mlp', hidden: [4], activation: 'relu', dropout: 0, batchNorm: 'sync' }, { inputShape: [3], classes: 2 }, 1);
    const topology = zoo.toJSON(null, false) as Record<string, unknown>;
    expect(JSON.stringify(topology)).toContain('"class_name":"SyncBatchNormalization"');
    const m = await buildModel({ topology }, { inputShape: [3], classes: 2 }, 1);
    const bn = m.layers.filter((l) => l instanceof SyncBatchNormalization);
    expect(bn.map((l) => (l as SyncBatchNormalization).sync)).toEqual([true]);
  });

  it('only local batch-norm leaves replicas with state of their own (broadcast before evaluation)', async () => {
    const build = (batchNorm: 'none' | 'local' | 'sync') => buildModel({ zoo: 'mlp', hidden: [4], activation: 'relu', dropout: 0, batchNorm }, { inputShape: [3], classes: 2 }, 1);
    expect(hasReplicaState(await build('none'))).toBe(false);
    expect(hasReplicaState(await build('sync'))).toBe(false);
    expect(hasReplicaState(await build('local'))).toBe(true);
  });
});
