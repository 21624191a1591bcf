/**
 * A seeded orthogonal initializer for recurrent kernels, computed in plain
 * JavaScript: a matrix of seeded standard normals, orthonormalised by
 * modified Gram-Schmidt along its shorter side. The same seed gives the same
 * values on every backend and in every process. (tfjs-layers' own
 * orthogonal initializer needs tfjs-core's chained tensor methods, which
 * this project does not register, and warns on any matrix over 2000 values.)
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

export class SeededOrthogonal extends InitializerBase {
  static readonly className = 'SeededOrthogonal';
  private readonly seed: number;
  private readonly gain: number;

  constructor(args: { seed: number; gain?: number }) {
    super();
    this.seed = args.seed;
    this.gain = args.gain ?? 1;
  }

  override apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length < 2) throw new Error(`an orthogonal initializer needs a matrix, got shape [${shape}]`);
    const cols = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return tf.tensor(orthogonalMatrix(rows, cols, this.seed, this.gain), shape, dtype ?? 'float32');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { seed: this.seed, gain: this.gain };
  }
}

tf.serialization.registerClass(SeededOrthogonal as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/** A seeded orthogonal initializer, as tfjs-layers' arguments take one. */
export function seededOrthogonal(seed: number): LayersInitializer {
  return new SeededOrthogonal({ seed });
}
