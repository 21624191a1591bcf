/**
 * Token positions added to a sequence [B, T, d]: `sincos`, the fixed table
 * sin(p/10000^(2i/d)), cos(p/10000^(2i/d)) of "Attention is all you need"
 * (no weights), or `learned`, a [T, d] weight seeded from a normal of
 * standard deviation 0.02.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerVariable, Shape } from '@tensorflow/tfjs-layers';

export type PositionKind = 'sincos' | 'learned';

export interface PositionArgs {
  kind: PositionKind;
  seed: number;
  name?: string;
}

export class PositionEmbedding extends tfl.layers.Layer {
  static readonly className = 'PositionEmbedding';
  readonly kind: PositionKind;
  readonly seed: number;
  /** The learned table; the sin/cos one is made in each call (a kept tensor would outlive the model's dispose). */
  private table: LayerVariable | undefined;
  private steps = 0;
  private features = 0;

  constructor(args: PositionArgs) {
    super({ name: args.name });
    this.kind = args.kind;
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const [t, d] = [shape[1], shape[2]];
    if (shape.length !== 3 || t === null || d === null) throw new Error(`${this.name}: positions need a fixed [steps, features], got [${shape}]`);
    [this.steps, this.features] = [t, d];
    if (this.kind === 'learned') this.table = this.addWeight('positions', [t, d], 'float32', tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.seed }));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (this.kind === 'learned') {
      if (this.table === undefined) throw new Error(`${this.name}: called before it was built`);
      return tf.add(x, this.table.read());
    }
    return tf.tidy(() => tf.add(x, tf.tensor2d(sinusoids(this.steps, this.features), [this.steps, this.features])));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kind: this.kind, seed: this.seed };
  }
}
tf.serialization.registerClass(PositionEmbedding);

/** The [T, d] sin/cos table (row-major): even features sin, odd features cos, of position p over 10000^(2i/d). */
export function sinusoids(t: number, d: number): Float32Array {
  const out = new Float32Array(t * d);
  for (let p = 0; p < t; p++) {
    for (let j = 0; j < d; j++) {
      const angle = p / Math.pow(10000, (2 * Math.floor(j / 2)) / d);
      out[p * d + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}
