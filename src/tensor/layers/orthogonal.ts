/**
 * The orthogonal initializer for recurrent kernels, computed in plain
 * JavaScript: a matrix of seeded standard normals, orthonormalised by
 * modified Gram-Schmidt along its shorter side. The same seed gives the same
 * values on every backend and in every process. It replaces tfjs-layers'
 * own (same class name, same config), which calls tfjs-core's chained tensor
 * methods that this project does not register ("rMat.flatten is not a
 * function": any LSTM or GRU with the default recurrent initializer failed
 * to build) and warns on any matrix over 2000 values.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../util/rng.js';

/** A rows × cols matrix (row-major) whose shorter side's vectors are orthonormal. */
export function orthogonalMatrix(rows: number, cols: number, seed: number, gain = 1): Float32Array {
  const rng = new Rng(seed);
  // Orthonormalise k vectors of length m: the columns when rows ≥ cols, else the rows.
  const [k, m] = rows >= cols ? [cols, rows] : [rows, cols];
  const v = Array.from({ length: k }, () => Float64Array.from({ length: m }, () => rng.normal()));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let t = 0; t < m; t++) dot += v[i][t] * v[j][t];
      for (let t = 0; t < m; t++) v[i][t] -= dot * v[j][t];
    }
    let norm = 0;
    for (let t = 0; t < m; t++) norm += v[i][t] * v[i][t];
    norm = Math.sqrt(norm);
    for (let t = 0; t < m; t++) v[i][t] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < k; i++) {
    for (let t = 0; t < m; t++) {
      const [r, c] = rows >= cols ? [t, i] : [i, t];
      out[r * cols + c] = gain * v[i][t];
    }
  }
  return out;
}

/** tfjs-layers' initializer type, and its base class (not exported by name: found through an initializer it makes). */
export type LayersInitializer = ReturnType<typeof tfl.initializers.glorotUniform>;
const InitializerBase = Object.getPrototypeOf(tfl.initializers.zeros().constructor) as abstract new () => LayersInitializer;

/**
 * Registered under tfjs-layers' own class name, so that it also serves
 * every layer that asks for `orthogonal` (an LSTM's or GRU's default
 * recurrent initializer, in a user's topology or model module) and saved
 * models name the standard initializer. Without a seed it draws one from
 * Math.random (which a model module's build seeds from the job seed).
 */
export class Orthogonal extends InitializerBase {
  static readonly className = 'Orthogonal';
  private readonly seed: number | undefined;
  private readonly gain: number;

  constructor(args: { seed?: number; gain?: number } = {}) {
    super();
    this.seed = args.seed;
    this.gain = args.gain ?? 1;
  }

  override apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length < 2) throw new Error(`an orthogonal initializer needs a matrix, got shape [${shape}]`);
    const cols = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const seed = this.seed ?? Math.floor(Math.random() * 2147483647);
    return tf.tensor(orthogonalMatrix(rows, cols, seed, this.gain), shape, dtype ?? 'float32');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { gain: this.gain, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

tf.serialization.registerClass(Orthogonal as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/** A seeded orthogonal initializer, as tfjs-layers' arguments take one. */
export function seededOrthogonal(seed: number): LayersInitializer {
  return new Orthogonal({ seed });
}
