/** A CNN with conv, pooling, batch-norm, dropout and dense layers: its gradients on wasm equal the cpu backend's. */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../src/tensor/kernels/wasm.js';
import { SeededDropout, setDropoutContext } from '../src/tensor/layers/seeded-dropout.js';
import { Rng } from '../src/util/rng.js';
import { relativeDiff } from './helpers/reference.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

const BATCH = 12;

function buildCnn(): tfl.LayersModel {
  const init = (seed: number) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }) });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', ...init(1) }),
      tfl.layers.batchNormalization(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu', ...init(2) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      new SeededDropout({ rate: 0.3, salt: 0 }),
      tfl.layers.dense({ units: 32, activation: 'relu', ...init(3) }),
      tfl.layers.dense({ units: 10, ...init(4) }),
    ],
  });
}

/** Gradients of the batch's mean cross-entropy w.r.t. every trainable weight, on `backend`. */
async function gradients(backend: string, x: Float32Array, labels: Int32Array): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const model = buildCnn();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  setDropoutContext(model, { seed: 9, step: 0, sampleIndices: Array.from({ length: BATCH }, (_, i) => i) });
  let out: Float32Array[] = [];
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const logits = model.apply(tf.tensor4d(x, [BATCH, 28, 28, 1]), { training: true }) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), logits) as tf.Scalar;
    }, vars);
    out = vars.map((v) => grads[v.name].dataSync() as Float32Array);
  });
  model.dispose();
  return out;
}

describe('training a CNN on wasm', () => {
  it('conv, batch-norm, pooling, dropout and dense gradients equal the cpu backend within 1e-4 relative', async () => {
    registerWasmTrainingKernels();
    tf.enableProdMode();
    const r = new Rng(4);
    const x = Float32Array.from({ length: BATCH * 28 * 28 }, () => r.next());
    const labels = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
    const cpu = await gradients('cpu', x, labels);
    const wasm = await gradients('wasm', x, labels);
    expect(wasm.length).toBe(cpu.length);
    expect(cpu.length).toBe(2 + 2 + 2 + 2 + 2); // conv, batch-norm γ/β, conv, dense, dense
    cpu.forEach((c, i) => {
      expect(c.some((v) => v !== 0)).toBe(true);
      expect(relativeDiff(wasm[i], c), `weight ${i}`).toBeLessThanOrEqual(1e-4);
    });
  });
});
