/**
 * One process of the scaling bound (bench/scaling.ts): forward and backward
 * of a zoo model on wasm, gradients read out as a worker reads them, no
 * optimizer and no communication. Arguments: model-spec-json batch steps.
 * Prints one JSON line: {ms} per step.
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from '../src/tensor/kernels/wasm.js';
import { setDropoutContext } from '../src/tensor/layers/seeded-dropout.js';
import { sumSoftmaxCrossEntropy } from '../src/tensor/loss.js';
import { buildModel } from '../src/tensor/models/zoo.js';
import { modelSchema } from '../src/spec/model.js';

const [specArg, batchArg, stepsArg] = process.argv.slice(2);
tf.enableProdMode();
registerWasmTrainingKernels();
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
const model = await buildModel(modelSchema.parse(JSON.parse(specArg)), { inputShape: [28, 28, 1], classes: 10 }, 1);
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const b = Number(batchArg);
const x = tf.randomUniform([b, 28, 28, 1]);
const y = tf.tensor1d(Array.from({ length: b }, (_, i) => i % 10), 'int32');
const indices = Int32Array.from({ length: b }, (_, i) => i);
const step = (s: number) => {
  setDropoutContext(model, { seed: 1, step: s, sampleIndices: indices });
  const { value, grads } = tf.variableGrads(() => sumSoftmaxCrossEntropy(model.apply(x, { training: true }) as tf.Tensor, y, 10), vars);
  for (const v of vars) grads[v.name].dataSync();
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
};
const steps = Number(stepsArg);
for (let s = 0; s < Math.max(3, steps / 10); s++) step(s);
const t0 = performance.now();
for (let s = 0; s < steps; s++) step(s);
process.stdout.write(`${JSON.stringify({ ms: (performance.now() - t0) / steps })}\n`);
