/**
 * How many weights a model would have, without allocating them: while
 * `build` runs, every layer's addWeight records its shape and gets a
 * one-element placeholder instead of initialised values. A job whose
 * networks would not fit in memory (`hidden: [30000, 30000]`: 923 M
 * weights) is measured in milliseconds and refused before anything is
 * built for real.
 *
 * The hook is global to this thread's tfjs-layers, so `build` must create
 * its networks synchronously (before its first await): the hook is
 * removed as soon as it returns, and a model another task builds later
 * gets real weights. A build that made no weight in that window (a model
 * module, or a data module, must first be imported) is counted from the
 * networks it built for real.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

type AddWeight = (name: string, shape: number[], dtype?: tf.DataType, initializer?: unknown, regularizer?: unknown, trainable?: boolean) => tfl.LayerVariable;

export async function countWeights<T>(build: () => Promise<T>, models: (built: T) => LayersModel[]): Promise<number> {
  const proto = tfl.layers.Layer.prototype as unknown as { addWeight: AddWeight };
  const real = proto.addWeight;
  let count = 0;
  const made: tfl.LayerVariable[] = [];
  proto.addWeight = (name, shape, dtype, _initializer, _regularizer, trainable) => {
    count += shape.reduce((a, b) => a * b, 1);
    const placeholder = tf.zeros([1], dtype ?? 'float32');
    try {
      const v = new tfl.LayerVariable(placeholder, dtype ?? 'float32', name, trainable ?? true);
      made.push(v);
      return v;
    } finally {
      placeholder.dispose(); // the variable keeps its own reference
    }
  };
  let pending: Promise<T>;
  try {
    pending = build();
  } finally {
    proto.addWeight = real;
  }
  const built = await pending;
  if (count === 0) for (const m of models(built)) count += m.weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  for (const m of models(built)) m.dispose();
  // A model's dispose leaves the weights of layers it does not own alone: free every placeholder.
  for (const v of made) if (!v.read().isDisposed) v.dispose();
  return count;
}
