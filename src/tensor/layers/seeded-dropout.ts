/**
 * Dropout whose mask for each sample is drawn from (job seed, step, global
 * sample index, layer, element), so that N workers draw exactly the masks one
 * process would. Saved models record it as a standard `Dropout` layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';
import { hashInts, hashPair, hashPrefix, Stream } from '../../util/rng.js';

export interface DropoutContext {
  seed: number;
  step: number;
  /** Global index of each sample of the batch being run, in batch order. */
  sampleIndices: ArrayLike<number>;
}

interface SeededDropoutArgs {
  rate: number;
  /** Distinguishes this layer's masks from other dropout layers'. */
  salt: number;
  name?: string;
}

export class SeededDropout extends layers.Layer {
  static readonly className = 'SeededDropout';
  readonly rate: number;
  readonly salt: number;
  /** Set by the step program before a training forward pass. */
  context: DropoutContext | undefined;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.salt = args.salt;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true || this.rate === 0) return x;
    const ctx = this.context;
    if (!ctx) throw new Error(`${this.name}: training forward pass without a dropout context`);
    if (ctx.sampleIndices.length !== x.shape[0]) {
      throw new Error(`${this.name}: ${ctx.sampleIndices.length} sample indices for a batch of ${x.shape[0]}`);
    }
    return tf.mul(x, tf.tensor(this.mask(x.shape, ctx), x.shape));
  }

  /** Inverted dropout: kept elements are scaled by 1/(1-rate). */
  private mask(shape: number[], ctx: DropoutContext): Float32Array {
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const out = new Float32Array(shape[0] * per);
    const keep = 1 / (1 - this.rate);
    const threshold = this.rate * 4294967296;
    for (let i = 0; i < shape[0]; i++) {
      const prefix = hashPrefix(hashInts(ctx.seed, Stream.dropout, ctx.step, ctx.sampleIndices[i], this.salt));
      // hashPair(prefix, j) is hashInts(base, j), drawn without a call per element's arguments array.
      for (let j = 0; j < per; j++) out[i * per + j] = hashPair(prefix, j) >= threshold ? keep : 0;
    }
    return out;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, salt: this.salt };
  }
}
tf.serialization.registerClass(SeededDropout);

/** Sets (or clears) the dropout context of every seeded dropout layer of a model. */
export function setDropoutContext(model: { layers: unknown[] }, ctx: DropoutContext | undefined): void {
  for (const layer of model.layers) if (layer instanceof SeededDropout) layer.context = ctx;
}
