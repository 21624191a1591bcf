/** The models the compute benchmark trains, with their forward FLOPs per sample (training ≈ 3×). */
import * as tfl from '@tensorflow/tfjs-layers';
// tfjs-layers' orthogonal initializer (an LSTM's default) needs chained tensor methods: dtrain's stands in for it.
import '../src/tensor/layers/orthogonal.js';
import { Patches } from '../src/tensor/layers/patches.js';
import { PositionEmbedding } from '../src/tensor/layers/positions.js';
import { MultiHeadSelfAttention } from '../src/tensor/layers/self-attention.js';
import { modelSchema } from '../src/spec/model.js';
// (Not the zoo: it registers dtrain's Tile gradient, which plain tfjs must not have.)
import { buildTransformer, type TransformerSpec } from '../src/tensor/models/transformer.js';

export type BenchModelName = 'mlp' | 'cnn' | 'lstm' | 'vit';

export interface BenchModel {
  model: tfl.LayersModel;
  batch: number;
  inputShape: number[];
  classes: number;
  flopsPerSample: number;
}

/** configs/fashion-mnist-vit.yaml's model. */
const VIT = { zoo: 'vit', patch: 7, dModel: 64, heads: 4, layers: 2, ff: 128, positions: 'learned' } as const;

/** `dtrain`: the model as dtrain's zoo builds it; otherwise as tfjs-layers' own layers make it (where they have one). */
export function benchModel(name: BenchModelName, dtrain: boolean): BenchModel {
  if (name === 'vit') {
    // 16 tokens of 64: the patch projection, then per block the 4 projections, q·kᵀ and weights·v, the feed-forward.
    const [n, d, ff, layers] = [16, VIT.dModel, VIT.ff, VIT.layers];
    const flopsPerSample = 2 * n * 49 * d + layers * (4 * 2 * n * d * d + 2 * 2 * n * n * d + 2 * 2 * n * d * ff) + 2 * d * 10;
    const model = dtrain ? buildTransformer(modelSchema.parse(VIT) as TransformerSpec, { inputShape: [28, 28, 1], classes: 10 }, (() => { let k = 1; return () => k++; })()) : plainVit();
    return { model, batch: 64, inputShape: [28, 28, 1], classes: 10, flopsPerSample };
  }
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

/**
 * The same ViT from tfjs-layers' own parts where it has them: its layer
 * normalization (which tiles its statistics); patches, self-attention and
 * positions are dtrain's, which it lacks. (Patches through a strided
 * convolution cannot train on plain wasm: it has no Conv2DBackpropFilter.)
 */
function plainVit(): tfl.LayersModel {
  const input = tfl.input({ shape: [28, 28, 1] });
  const apply = (layer: tfl.layers.Layer, ...xs: tfl.SymbolicTensor[]) => layer.apply(xs.length === 1 ? xs[0] : xs) as tfl.SymbolicTensor;
  const norm = (v: tfl.SymbolicTensor) => apply(tfl.layers.layerNormalization({ axis: -1 }), v);
  const patches = apply(tfl.layers.dense({ units: VIT.dModel }), apply(new Patches({ patch: VIT.patch }), input));
  let x = apply(new PositionEmbedding({ kind: 'learned', seed: 1 }), patches);
  for (let i = 0; i < VIT.layers; i++) {
    x = apply(tfl.layers.add(), x, apply(new MultiHeadSelfAttention({ heads: VIT.heads, causal: false, seed: i }), norm(x)));
    const hidden = apply(tfl.layers.dense({ units: VIT.ff, activation: 'relu' }), norm(x));
    x = apply(tfl.layers.add(), x, apply(tfl.layers.dense({ units: VIT.dModel }), hidden));
  }
  const logits = apply(tfl.layers.dense({ units: 10 }), norm(apply(tfl.layers.globalAveragePooling1d(), x)));
  return tfl.model({ inputs: input, outputs: logits });
}
