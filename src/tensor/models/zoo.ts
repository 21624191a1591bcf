/**
 * Models built from a job's `model` section. Weights are initialised from the
 * job seed, so every process that builds the same spec gets the same model.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { JobSpecError } from '../../util/errors.js';
import type { ModelSpec } from '../../spec/model.js';
import { initSeeds, seededInit } from './seeded-init.js';
// Models train with dtrain's Tile gradient, in workers and in any process that builds one.
import '../kernels/tile-gradient.js';
import { SeededDropout } from '../layers/seeded-dropout.js';
import { SyncBatchNormalization } from '../layers/sync-batch-norm.js';
import { seededOrthogonal } from '../layers/orthogonal.js';
import { fitsShape, type ModelShape } from './shape.js';
import { asSequence, buildTransformer } from './transformer.js';
import { fromModule } from './user-model.js';

type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'selu' | 'linear';


export async function buildModel(spec: ModelSpec, shape: ModelShape, seed: number): Promise<tfl.LayersModel> {
  if ('topology' in spec) return fromTopology(spec.topology, shape);
  if ('module' in spec) return fromModule(spec, shape, seed);
  // A distinct, reproducible seed for every initialised layer.
  const nextSeed = initSeeds(seed);
  const init = seededInit(nextSeed);
  let salt = 0;
  const dropout = (rate: number) => new SeededDropout({ rate, salt: salt++ });
  const bn = 'batchNorm' in spec ? spec.batchNorm : 'none';
  // A weight layer, then (with batch-norm) the normalization and the
  // activation as layers of their own; a bias before batch-norm would be
  // cancelled by it, and Adam would chase its rounding noise.
  const block = (make: (args: { activation?: Activation; useBias: boolean }) => tfl.layers.Layer): tfl.layers.Layer[] =>
    bn === 'none'
      ? [make({ activation: spec.activation, useBias: true })]
      : [make({ useBias: false }), new SyncBatchNormalization({ sync: bn === 'sync' }), tfl.layers.activation({ activation: spec.activation })];
  if (spec.zoo === 'transformer' || spec.zoo === 'vit') return buildTransformer(spec, shape, nextSeed);
  const layers: tfl.layers.Layer[] = [];
  if (spec.zoo === 'rnn' || spec.zoo === 'lstm' || spec.zoo === 'gru') {
    layers.push(...recurrentStack(spec, shape.inputShape, nextSeed));
    if (spec.dropout > 0) layers.push(dropout(spec.dropout));
    for (const units of spec.dense) {
      layers.push(tfl.layers.dense({ units, activation: spec.activation, ...init() }));
      if (spec.dropout > 0) layers.push(dropout(spec.dropout));
    }
  } else if (spec.zoo === 'mlp') {
    // Flatten needs rank ≥ 3 (images); vectors go straight into the first dense layer.
    const flat = shape.inputShape.length > 1;
    if (flat) layers.push(tfl.layers.flatten({ inputShape: shape.inputShape }));
    for (const units of spec.hidden) {
      const first = layers.length === 0 && !flat ? { inputShape: shape.inputShape } : {};
      layers.push(...block((a) => tfl.layers.dense({ units, ...a, ...first, ...init() })));
      if (spec.dropout > 0) layers.push(dropout(spec.dropout));
    }
  } else {
    if (shape.inputShape.length !== 3) throw new JobSpecError('model', [{ path: 'model.zoo', message: `the cnn needs images (H, W, C), got input shape [${shape.inputShape}]` }]);
    spec.conv.forEach((filters, i) => {
      const first = i === 0 ? { inputShape: shape.inputShape } : {};
      layers.push(...block((a) => tfl.layers.conv2d({ filters, kernelSize: spec.kernelSize, padding: 'same', ...a, ...first, ...init() })));
      layers.push(tfl.layers.maxPooling2d({ poolSize: 2 }));
    });
    layers.push(tfl.layers.flatten());
    for (const units of spec.dense) {
      layers.push(...block((a) => tfl.layers.dense({ units, ...a, ...init() })));
      if (spec.dropout > 0) layers.push(dropout(spec.dropout));
    }
  }
  // Logits: the loss applies the softmax, which is both stabler and exact for the sum loss.
  const first = layers.length === 0 ? { inputShape: shape.inputShape } : {};
  layers.push(tfl.layers.dense({ units: shape.classes, ...first, ...init() }));
  return tfl.sequential({ layers });
}

async function fromTopology(topology: string | Record<string, unknown>, shape: ModelShape): Promise<tfl.LayersModel> {
  if (typeof topology === 'string') throw new Error('topology file paths are resolved when the job file is loaded');
  let model: tfl.LayersModel;
  try {
    model = await tfl.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] } as never);
  } catch (err) {
    throw new JobSpecError('model', [{ path: 'model.topology', message: `not a valid tfjs-layers topology: ${(err as Error).message}` }], { cause: err });
  }
  const input = model.inputs[0].shape.slice(1);
  const output = model.outputs[0].shape.slice(1);
  if (!fitsShape(input, shape.inputShape)) {
    throw new JobSpecError('model', [{ path: 'model.topology', message: `input shape [${input}] does not fit the data's [${shape.inputShape}]` }]);
  }
  if (!fitsShape(output, [shape.classes])) {
    throw new JobSpecError('model', [{ path: 'model.topology', message: `output shape [${output}] does not fit ${shape.classes} classes (the model must output logits)` }]);
  }
  return model;
}

type RecurrentSpec = Extract<ModelSpec, { zoo: 'rnn' | 'lstm' | 'gru' }>;

/**
 * The recurrent layers of an rnn, lstm or gru model, reading the input as a
 * sequence [T, F]: images [H, W, C] as H rows of W·C values, vectors [F] as
 * F steps of one value. Every layer but the last returns its whole sequence
 * (the next one reads it); the last, its final output. Initialisers are
 * seeded (the input kernel Glorot-uniform, the recurrent kernel
 * orthogonal), so every build of the spec has the same weights.
 */
function recurrentStack(spec: RecurrentSpec, inputShape: number[], nextSeed: () => number): tfl.layers.Layer[] {
  const out: tfl.layers.Layer[] = [];
  const sequence = asSequence(inputShape);
  out.push(tfl.layers.reshape({ targetShape: sequence, inputShape }));
  const make = { rnn: tfl.layers.simpleRNN, lstm: tfl.layers.lstm, gru: tfl.layers.gru }[spec.zoo];
  for (let i = 0; i < spec.layers; i++) {
    const args = {
      units: spec.units,
      returnSequences: i < spec.layers - 1,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }),
      recurrentInitializer: seededOrthogonal(nextSeed()),
      biasInitializer: tfl.initializers.zeros(),
    };
    out.push(spec.bidirectional ? tfl.layers.bidirectional({ layer: make(args) as tfl.RNN, mergeMode: 'concat' }) : make(args));
  }
  return out;
}
