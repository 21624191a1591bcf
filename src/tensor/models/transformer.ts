/**
 * The zoo's transformer classifiers: `transformer` reads a sequence [T, F]
 * (images [H, W, C] as H rows of W·C values, vectors [F] as F steps of one
 * value) and projects each step to `dModel` features; `vit` cuts images
 * into `patch`×`patch` squares and projects each. Then positions are added and `layers` pre-norm
 * encoder blocks follow: x + attention(norm(x)), then x + ff(norm(x)) with
 * a two-layer feed-forward of `ff` units. The tokens' mean (with a causal
 * mask, the mean of every prefix's summary) goes through a final norm to
 * the logits. Every initializer is seeded.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelSpec } from '../../spec/model.js';
import { JobSpecError } from '../../util/errors.js';
import { LayerNorm } from '../layers/layer-norm.js';
import { Patches } from '../layers/patches.js';
import { PositionEmbedding } from '../layers/positions.js';
import { SeededDropout } from '../layers/seeded-dropout.js';
import { MultiHeadSelfAttention } from '../layers/self-attention.js';
import type { ModelShape } from './shape.js';

export type TransformerSpec = Extract<ModelSpec, { zoo: 'transformer' | 'vit' }>;

/** The transformer or ViT classifier of `spec` on data of `shape`; `nextSeed` gives each initializer its seed. */
export function buildTransformer(spec: TransformerSpec, shape: ModelShape, nextSeed: () => number): tfl.LayersModel {
  const problem = (message: string, key = 'model.zoo') => new JobSpecError('model', [{ path: key, message }]);
  if (spec.dModel % spec.heads !== 0) throw problem(`dModel ${spec.dModel} does not split into ${spec.heads} heads`, 'model.heads');
  const kernel = () => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }), biasInitializer: tfl.initializers.zeros() });
  let salt = 0;
  const dropout = (x: tfl.SymbolicTensor) => (spec.dropout > 0 ? (new SeededDropout({ rate: spec.dropout, salt: salt++ }).apply(x) as tfl.SymbolicTensor) : x);
  const input = tfl.input({ shape: shape.inputShape });
  let x: tfl.SymbolicTensor;
  if (spec.zoo === 'vit') {
    const [h, w] = shape.inputShape;
    if (shape.inputShape.length !== 3) throw problem(`vit cuts images (H, W, C) into patches, got input shape [${shape.inputShape}]`);
    if (h % spec.patch !== 0 || w % spec.patch !== 0) throw problem(`patch ${spec.patch} does not tile ${h}×${w} images`, 'model.patch');
    const patches = new Patches({ patch: spec.patch }).apply(input);
    x = tfl.layers.dense({ units: spec.dModel, ...kernel() }).apply(patches) as tfl.SymbolicTensor;
  } else {
    const steps = tfl.layers.reshape({ targetShape: asSequence(shape.inputShape) }).apply(input);
    x = tfl.layers.dense({ units: spec.dModel, ...kernel() }).apply(steps) as tfl.SymbolicTensor;
  }
  x = new PositionEmbedding({ kind: spec.positions, seed: nextSeed() }).apply(x) as tfl.SymbolicTensor;
  const add = (a: tfl.SymbolicTensor, b: tfl.SymbolicTensor) => tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  const norm = (v: tfl.SymbolicTensor) => new LayerNorm().apply(v) as tfl.SymbolicTensor;
  for (let i = 0; i < spec.layers; i++) {
    const attended = new MultiHeadSelfAttention({ heads: spec.heads, causal: spec.causal, seed: nextSeed() }).apply(norm(x)) as tfl.SymbolicTensor;
    x = add(x, dropout(attended));
    const hidden = tfl.layers.dense({ units: spec.ff, activation: spec.activation, ...kernel() }).apply(norm(x)) as tfl.SymbolicTensor;
    x = add(x, dropout(tfl.layers.dense({ units: spec.dModel, ...kernel() }).apply(hidden) as tfl.SymbolicTensor));
  }
  const pooled = tfl.layers.globalAveragePooling1d().apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: shape.classes, ...kernel() }).apply(norm(pooled)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits });
}

/** A sample's shape as a sequence [T, F]: images as rows, vectors as steps of one value. */
export function asSequence(inputShape: number[]): [number, number] {
  if (inputShape.length === 1) return [inputShape[0], 1];
  if (inputShape.length === 2) return [inputShape[0], inputShape[1]];
  if (inputShape.length === 3) return [inputShape[0], inputShape[1] * inputShape[2]];
  throw new JobSpecError('model', [{ path: 'model.zoo', message: `the model reads sequences [T, F] (or images [H, W, C] as H rows), got input shape [${inputShape}]` }]);
}
