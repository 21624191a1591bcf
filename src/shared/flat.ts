/**
 * The fusion buffer: all trainable variables of a model packed, in model
 * order, into one Float32Array at fixed offsets. Collectives work on it whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { wasmHeapOf } from './kernels/wasm-heap.js';

export interface FlatEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface FlatLayout {
  entries: FlatEntry[];
  /** Number of float32 elements. */
  total: number;
}

export function layoutOf(model: LayersModel): FlatLayout {
  let offset = 0;
  const entries = model.trainableWeights.map((w) => {
    const shape = w.shape as number[]; // trainable weights are always fully defined
    const size = shape.reduce((a, b) => a * b, 1);
    const e = { name: w.originalName, shape, offset, size };
    offset += size;
    return e;
  });
  return { entries, total: offset };
}

/** Copies the model's trainable weights into `out` (allocated when omitted). */
export function readParams(model: LayersModel, layout: FlatLayout, out = new Float32Array(layout.total)): Float32Array {
  model.trainableWeights.forEach((w, i) => out.set(w.read().dataSync() as Float32Array, layout.entries[i].offset));
  return out;
}

/** Writes `flat` into the model's trainable weights. */
export function writeParams(model: LayersModel, layout: FlatLayout, flat: Float32Array): void {
  model.trainableWeights.forEach((w, i) => {
    const e = layout.entries[i];
    const t = tf.tensor(flat.subarray(e.offset, e.offset + e.size), e.shape, 'float32');
    w.write(t);
    t.dispose();
  });
}

/** Packs gradient tensors (in layout order) into `out`. */
export function packTensors(tensors: tf.Tensor[], layout: FlatLayout, out: Float32Array): void {
  if (tensors.length !== layout.entries.length) throw new Error(`${tensors.length} tensors for a layout of ${layout.entries.length}`);
  const heap = heapView();
  tensors.forEach((t, i) => out.set(heap?.(t) ?? (t.dataSync() as Float32Array), layout.entries[i].offset));
}

/**
 * On wasm, a view of a tensor's memory in the heap: reading it skips the copy
 * that dataSync makes (one copy of every gradient per step fewer). The view
 * is valid only until the next tfjs call, so it is copied at once.
 */
function heapView(): ((t: tf.Tensor) => Float32Array) | undefined {
  const h = tf.getBackend() === 'wasm' ? wasmHeapOf(tf.engine().backend) : undefined;
  return h && ((t) => h.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array);
}
