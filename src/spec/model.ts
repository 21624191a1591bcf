/**
 * The classifier models a job file can name (supervised and adversarial
 * jobs' `model`): a zoo model (mlp, cnn, rnn, lstm, gru, transformer,
 * vit), a tfjs-layers
 * topology, or a model module.
 */
import { z } from 'zod';

import { activation, batchNorm, positiveInt } from './parts.js';

const dropoutRate = z.number().min(0).lt(1);

const mlp = z
  .object({
    zoo: z.literal('mlp'),
    hidden: z.array(positiveInt).default([256, 128]),
    activation: activation.default('relu'),
    /** Dropout rate after each hidden layer; masks are seeded per sample. */
    dropout: dropoutRate.default(0),
    batchNorm,
  })
  .strict();

const cnn = z
  .object({
    zoo: z.literal('cnn'),
    /** Filters of each conv block (3x3 conv + activation + 2x2 max-pool). */
    conv: z.array(positiveInt).min(1).default([32, 64]),
    kernelSize: positiveInt.default(3),
    dense: z.array(positiveInt).default([128]),
    activation: activation.default('relu'),
    dropout: dropoutRate.default(0),
    batchNorm,
  })
  .strict();

/**
 * A recurrent classifier: `layers` stacked rnn (Elman), lstm or gru layers
 * of `units` each (optionally bidirectional, the directions' outputs
 * concatenated), the last one's final output into `dense` layers and the
 * logits. It reads sequences [T, F]: images [H, W, C] as H rows of W·C
 * values, vectors [F] as F steps of one value.
 */
const recurrent = <Z extends 'rnn' | 'lstm' | 'gru'>(zoo: Z) =>
  z
    .object({
      zoo: z.literal(zoo),
      units: positiveInt.default(128),
      layers: positiveInt.max(8).default(1),
      bidirectional: z.boolean().default(false),
      dense: z.array(positiveInt).default([]),
      activation: activation.default('relu'),
      /** Dropout rate after the recurrent stack and after each dense layer; masks are seeded per sample. */
      dropout: dropoutRate.default(0),
    })
    .strict();

/**
 * A transformer encoder classifier (src/tensor/models/transformer.ts):
 * `layers` pre-norm blocks of multi-head self-attention (`heads` heads over
 * `dModel` features) and a feed-forward of `ff` units; the tokens' mean
 * into the logits. `transformer` reads sequences [T, F] like the recurrent
 * models; `vit` cuts images into `patch`×`patch` patches.
 */
const transformerKeys = (positions: 'sincos' | 'learned') => ({
  dModel: positiveInt.default(64),
  heads: positiveInt.default(4),
  layers: positiveInt.max(24).default(2),
  /** Units of each block's feed-forward hidden layer. */
  ff: positiveInt.default(128),
  /** Positions added to the tokens: the fixed sin/cos table, or a learned [T, dModel] weight. */
  positions: z.enum(['sincos', 'learned']).default(positions),
  /** Each token attends only to itself and earlier ones (the classifier still reads the tokens' mean). */
  causal: z.boolean().default(false),
  /** The feed-forward's activation. */
  activation: activation.default('relu'),
  /** Dropout rate after attention and feed-forward (before each residual add); masks are seeded per sample. */
  dropout: dropoutRate.default(0),
});

const transformer = z.object({ zoo: z.literal('transformer'), ...transformerKeys('sincos') }).strict();

const vit = z
  .object({
    zoo: z.literal('vit'),
    ...transformerKeys('learned'),
    /** Side of the square patches an image is cut into; it must divide the image's height and width. */
    patch: positiveInt.default(7),
  })
  .strict();

const topology = z
  .object({
    /** A tfjs-layers model topology (model.json's `modelTopology`, or a file path to it). */
    topology: z.union([z.string().min(1), z.record(z.unknown())]),
  })
  .strict();

const moduleModel = z
  .object({
    /** An ES module (path relative to the job file) whose default export builds the model (README: Your own model and data). */
    module: z.string().min(1),
    /** Passed to the module's default export as `options`. */
    options: z.record(z.unknown()).default({}),
  })
  .strict();

export const modelSchema = z.union([z.discriminatedUnion('zoo', [mlp, cnn, recurrent('rnn'), recurrent('lstm'), recurrent('gru'), transformer, vit]), topology, moduleModel]);

/** The zoo's recurrent models. */
export const RECURRENT_ZOO = ['rnn', 'lstm', 'gru'] as const;

export type ModelSpec = z.infer<typeof modelSchema>;
