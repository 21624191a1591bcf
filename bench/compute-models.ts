/** The models the compute benchmark trains, with their forward FLOPs per sample (training ≈ 3×). */
import * as tfl from '@tensorflow/tfjs-layers';
// tfjs-layers' orthogonal initializer (an LSTM's default) needs chained tensor methods: dtrain's stands in for it.
import '../src/tensor/layers/orthogonal.js';

export type BenchModelName = 'mlp' | 'cnn' | 'lstm';

export interface BenchModel {
  model: tfl.LayersModel;
  batch: number;
  inputShape: number[];
  classes: number;
  flopsPerSample: number;
}

export function benchModel(name: BenchModelName): BenchModel {
  if (name === 'mlp') {
    // MLP 784-256-256-10, batch 128
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }), tfl.layers.dense({ units: 256, activation: 'relu' }), tfl.layers.dense({ units: 10 })],
    });
    return { model, batch: 128, inputShape: [784], classes: 10, flopsPerSample: 2 * (784 * 256 + 256 * 256 + 256 * 10) };
  }
  if (name === 'lstm') {
    // configs/fashion-mnist-lstm.yaml's model: an LSTM of 128 units over 28 rows of 28 values, dense 10; batch 64
    const units = 128;
    const model = tfl.sequential({ layers: [tfl.layers.lstm({ inputShape: [28, 28], units }), tfl.layers.dense({ units: 10 })] });
    // Each step: the four gates' input and recurrent products (the elementwise work is left out).
    return { model, batch: 64, inputShape: [28, 28], classes: 10, flopsPerSample: 28 * 2 * 4 * units * (28 + units) + 2 * units * 10 };
  }
  // Fashion-MNIST CNN: conv3x3x32, pool, conv3x3x64, pool, dense 128, dense 10; batch 64
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 128, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
  const conv = 2 * (28 * 28 * 9 * 1 * 32 + 14 * 14 * 9 * 32 * 64);
  const dense = 2 * (7 * 7 * 64 * 128 + 128 * 10);
  return { model, batch: 64, inputShape: [28, 28, 1], classes: 10, flopsPerSample: conv + dense };
}
