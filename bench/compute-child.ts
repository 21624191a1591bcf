/**
 * One compute measurement in a fresh process (so that "plain" wasm really
 * has none of dtrain's kernels): training steps of a model on a backend.
 * Arguments: variant model steps [warm-up steps, default 2]; variant webgpu
 * takes the GPU index from DTRAIN_BENCH_GPU.
 * Prints one JSON line: {ms, gflops, adapter?} or {error}.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerWasmTrainingKernels } from '../src/tensor/kernels/wasm.js';
import { initBackend } from '../src/tensor/backend.js';
import { benchModel, type BenchModelName } from './compute-models.js';

const [variant, modelName, stepsArg, warmupArg] = process.argv.slice(2) as ['cpu' | 'wasm-plain' | 'wasm-dtrain' | 'webgpu', BenchModelName, string, string | undefined];
tf.enableProdMode();
if (variant === 'wasm-dtrain') registerWasmTrainingKernels();
const gpu = process.env.DTRAIN_BENCH_GPU;
const adapter = variant === 'webgpu' ? (await initBackend('webgpu', gpu ? { gpu: Number(gpu) } : {})).adapter : undefined;
if (variant !== 'webgpu') await tf.setBackend(variant === 'cpu' ? 'cpu' : 'wasm');
const { model, batch, inputShape, classes, flopsPerSample } = benchModel(modelName, variant === 'wasm-dtrain');
const x = tf.randomUniform([batch, ...inputShape]);
const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32'), classes);
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const opt = tf.train.sgd(0.01);
const step = () =>
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    opt.applyGradients(grads);
    value.dataSync();
  });
try {
  for (let i = 0; i < Number(warmupArg ?? 2); i++) step();
  const steps = Number(stepsArg);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - t0) / steps;
  process.stdout.write(`${JSON.stringify({ ms, gflops: (3 * flopsPerSample * batch) / ms / 1e6, ...(adapter ? { adapter } : {}) })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message.split('\n')[0] })}\n`);
}
void tfl;
