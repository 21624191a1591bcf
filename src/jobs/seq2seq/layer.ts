/**
 * The whole encoder–decoder as one tfjs-layers layer, so that it is a
 * LayersModel (the flat buffers, the checkpoints and saving take any) and
 * saves and loads by its registered class name. It owns every weight, each
 * from a seeded initialiser (Glorot-uniform, orthogonal for the recurrent
 * kernels, zero biases): every process that builds it gets the same ones.
 *
 * Its call is the teacher-forced pass: input [batch, S + T] token ids (the
 * source, then the decoder inputs: batch.ts), output [batch, T, classes]
 * logits, S = maxLength, T = maxLength + 1. Decoding uses encode() and
 * decodeStep(), the same computation one step at a time.
 *
 * A decoder step, from state s and the previous token y (Bahdanau et al.'s
 * order: the attention reads the state before the step):
 *   a, c = attend(s)                        weights over the source, context
 *   s'   = cell([embed(y); c], s)
 *   o    = tanh(W_o [s'; c] + b_o)           (Luong et al.'s attentional state)
 *   logits = W_l o + b_l
 * The decoder starts from tanh(W_b h + b_b), h the encoder's last state
 * (both directions' side by side when it reads both ways), and is as wide as
 * the encoder's outputs, so that dot attention can compare them.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { seededOrthogonal } from '../../tensor/layers/orthogonal.js';
import { initSeeds } from '../../tensor/models/seeded-init.js';
import { attend, memoryOf, type AdditiveWeights, type AttentionKind, type Memory } from './attention.js';
import { targetSteps } from './batch.js';
import { cellStep, gatesOf, keepWhere, zeroState, type CellKind, type CellState } from './cells.js';
import { tokensOf, type Tokens } from './data.js';

/** What the layer is built from (its saved config, with the base layer's). */
export interface Seq2seqConfig {
  /** Symbols; the token ids follow data.ts. */
  vocab: number;
  /** Source steps; the decoder runs one more (the end token). */
  maxLength: number;
  cell: CellKind;
  /** The encoder's state size, each direction. */
  units: number;
  embedding: number;
  bidirectional: boolean;
  attention: AttentionKind;
  /** The additive attention's hidden size (unused by dot). */
  attentionUnits: number;
  /** Seeds the initialisers. */
  seed: number;
}

/** The base layer's keys that a saved config carries. */
interface BaseLayerArgs {
  name?: string;
  trainable?: boolean;
  inputShape?: Shape;
  batchInputShape?: Shape;
  dtype?: tf.DataType;
}

/** An encoded batch: what the decoder attends to and where it starts. */
// (Type aliases, not interfaces: tf.tidy may return them.)
export type Encoded = {
  memory: Memory;
  state: CellState;
};

/** One decoder step's outputs. */
export interface DecoderStep {
  logits: tf.Tensor2D;
  state: CellState;
  /** The attention weights of the step, [batch, source steps]. */
  weights: tf.Tensor2D;
}

export class Seq2seqAttention extends layers.Layer {
  static readonly className = 'Seq2seqAttention';
  readonly config: Seq2seqConfig;
  readonly tokens: Tokens;
  private w: Record<string, LayerVariable> = {};

  constructor(args: Seq2seqConfig & BaseLayerArgs) {
    const { vocab, maxLength, cell, units, embedding, bidirectional, attention, attentionUnits, seed, ...base } = args;
    super(base);
    this.config = { vocab, maxLength, cell, units, embedding, bidirectional, attention, attentionUnits, seed };
    this.tokens = tokensOf(vocab);
  }

  /** The encoder outputs' width, which the decoder's state has too. */
  get width(): number {
    return this.config.units * (this.config.bidirectional ? 2 : 1);
  }

  override build(): void {
    const c = this.config;
    const g = gatesOf(c.cell);
    const H = this.width;
    const seed = initSeeds(c.seed);
    const glorot = () => tfl.initializers.glorotUniform({ seed: seed() });
    const add = (name: string, shape: number[], init: ReturnType<typeof glorot>) => (this.w[name] = this.addWeight(name, shape, 'float32', init));
    const bias = (name: string, size: number) => add(name, [size], tfl.initializers.zeros());
    add('embedding', [this.tokens.inputs, c.embedding], glorot());
    for (const dir of c.bidirectional ? ['forward', 'backward'] : ['forward']) {
      add(`encoder_${dir}/kernel`, [c.embedding, g * c.units], glorot());
      add(`encoder_${dir}/recurrent_kernel`, [c.units, g * c.units], seededOrthogonal(seed()));
      bias(`encoder_${dir}/bias`, g * c.units);
    }
    add('bridge/kernel', [H, H], glorot());
    bias('bridge/bias', H);
    if (c.attention === 'additive') {
      add('attention/key_kernel', [H, c.attentionUnits], glorot());
      add('attention/query_kernel', [H, c.attentionUnits], glorot());
      add('attention/score_kernel', [c.attentionUnits, 1], glorot());
    }
    add('decoder/kernel', [c.embedding, g * H], glorot());
    add('decoder/context_kernel', [H, g * H], glorot());
    add('decoder/recurrent_kernel', [H, g * H], seededOrthogonal(seed()));
    bias('decoder/bias', g * H);
    add('output/kernel', [2 * H, H], glorot());
    bias('output/bias', H);
    add('logits/kernel', [H, this.tokens.classes], glorot());
    bias('logits/bias', this.tokens.classes);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [s[0], targetSteps(this.config.maxLength), this.tokens.classes];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.teacherForced(Array.isArray(inputs) ? inputs[0] : inputs).logits);
  }

  /** The teacher-forced pass over [batch, S + T] ids: logits [batch, T, classes] and the attention weights [batch, T, S]. */
  teacherForced(x: tf.Tensor): { logits: tf.Tensor3D; attention: tf.Tensor3D } {
    const S = this.config.maxLength;
    const [source, decoderInputs] = tf.split(x, [S, targetSteps(S)], 1) as tf.Tensor2D[];
    const { memory, state: first } = this.encode(source);
    const inputs = tf.unstack(this.decoderInputs(decoderInputs), 1) as tf.Tensor2D[];
    let state = first;
    const hidden: tf.Tensor2D[] = [];
    const weights: tf.Tensor2D[] = [];
    for (const input of inputs) {
      const step = this.step(memory, state, input);
      state = step.state;
      hidden.push(step.hidden);
      weights.push(step.weights);
    }
    return { logits: this.logits(tf.stack(hidden, 1)) as tf.Tensor3D, attention: tf.stack(weights, 1) as tf.Tensor3D };
  }

  /** Encodes source ids [batch, S] (PAD after each string). */
  encode(source: tf.Tensor): Encoded {
    const mask = tf.cast(tf.notEqual(source, this.tokens.pad), 'float32') as tf.Tensor2D;
    const embedded = this.embed(source) as tf.Tensor3D;
    const forward = this.encoderPass('forward', embedded, mask, false);
    const backward = this.config.bidirectional ? this.encoderPass('backward', embedded, mask, true) : undefined;
    const values = backward ? tf.concat([forward.outputs, backward.outputs], 2) : forward.outputs;
    const last = backward ? tf.concat([forward.last, backward.last], 1) : forward.last;
    const h = tf.tanh(tf.add(tf.matMul(last, this.v('bridge/kernel')), this.v('bridge/bias'))) as tf.Tensor2D;
    const state = this.config.cell === 'gru' ? [h] : [h, tf.zerosLike(h)];
    return { memory: memoryOf(this.config.attention, values, mask, this.additive()), state };
  }

  /** One decoder step from `state` after token ids `previous` [batch]. */
  decodeStep(memory: Memory, state: CellState, previous: tf.Tensor): DecoderStep {
    const input = this.decoderInputs(previous) as tf.Tensor2D;
    const step = this.step(memory, state, input);
    return { logits: this.logits(step.hidden) as tf.Tensor2D, state: step.state, weights: step.weights };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.config };
  }

  private v(name: string): tf.Tensor2D {
    return this.w[name].read() as tf.Tensor2D;
  }

  private additive(): AdditiveWeights | undefined {
    if (this.config.attention !== 'additive') return undefined;
    return { key: this.v('attention/key_kernel'), query: this.v('attention/query_kernel'), score: this.v('attention/score_kernel') };
  }

  /** Token ids of any shape → their embeddings (a one-hot product: its gradient needs no gather kernel). */
  private embed(ids: tf.Tensor): tf.Tensor {
    const { inputs } = this.tokens;
    const oneHot = tf.reshape(tf.oneHot(tf.cast(ids, 'int32'), inputs), [-1, inputs]);
    return tf.reshape(tf.matMul(oneHot, this.v('embedding')), [...ids.shape, this.config.embedding]);
  }

  /** x·W + b over the last axis of x [..., in]. */
  private dense(x: tf.Tensor, kernel: string, bias?: string): tf.Tensor {
    const k = this.v(kernel);
    const y = tf.matMul(tf.reshape(x, [-1, k.shape[0]]), k);
    return tf.reshape(bias ? tf.add(y, this.v(bias)) : y, [...x.shape.slice(0, -1), k.shape[1]]);
  }

  /** The decoder's token part of its input projection, with the bias, for ids of any shape. */
  private decoderInputs(ids: tf.Tensor): tf.Tensor {
    return this.dense(this.embed(ids), 'decoder/kernel', 'decoder/bias');
  }

  /** One direction over the source: every position's output [batch, S, units] and the last state's h. */
  private encoderPass(dir: string, embedded: tf.Tensor3D, mask: tf.Tensor2D, backwards: boolean): { outputs: tf.Tensor3D; last: tf.Tensor2D } {
    const { cell, units } = this.config;
    const xs = tf.unstack(this.dense(embedded, `encoder_${dir}/kernel`, `encoder_${dir}/bias`), 1) as tf.Tensor2D[];
    const masks = tf.split(mask, xs.length, 1) as tf.Tensor2D[];
    const recurrent = this.v(`encoder_${dir}/recurrent_kernel`);
    let state = zeroState(cell, embedded.shape[0], units);
    const outputs: tf.Tensor2D[] = new Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const t = backwards ? xs.length - 1 - i : i;
      state = keepWhere(masks[t], cellStep(cell, xs[t], state, recurrent), state);
      outputs[t] = state[0];
    }
    return { outputs: tf.stack(outputs, 1) as tf.Tensor3D, last: state[0] };
  }

  /** A decoder step given its token's input projection: the new state, the attentional state o, the attention weights. */
  private step(memory: Memory, state: CellState, input: tf.Tensor2D): { state: CellState; hidden: tf.Tensor2D; weights: tf.Tensor2D } {
    const { weights, context } = attend(this.config.attention, memory, state[0], this.additive());
    const x = tf.add(input, tf.matMul(context, this.v('decoder/context_kernel'))) as tf.Tensor2D;
    const next = cellStep(this.config.cell, x, state, this.v('decoder/recurrent_kernel'));
    const hidden = tf.tanh(this.dense(tf.concat([next[0], context], 1), 'output/kernel', 'output/bias')) as tf.Tensor2D;
    return { state: next, hidden, weights };
  }

  /** Attentional states [..., width] → logits [..., classes]. */
  private logits(hidden: tf.Tensor): tf.Tensor {
    return this.dense(hidden, 'logits/kernel', 'logits/bias');
  }
}

tf.serialization.registerClass(Seq2seqAttention);
