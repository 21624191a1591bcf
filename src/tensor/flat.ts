/**
 * The fusion buffer: all trainable variables of a model packed, in model
 * order, into one Float32Array at fixed offsets. Collectives work on it whole.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
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
    const size = sizeOf(shape);
    const e = { name: w.originalName, shape, offset, size };
    offset += size;
    return e;
  });
  return { entries, total: offset };
}

/** Copies the model's trainable weights into `out` (allocated when omitted). */
export function readParams(model: LayersModel, layout: FlatLayout, out = new Float32Array(layout.total)): Float32Array {
  return readWeights(model.trainableWeights, out);
}

/** Writes `flat` into the model's trainable weights. */
export function writeParams(model: LayersModel, layout: FlatLayout, flat: Float32Array): void {
  writeWeights(model.trainableWeights, flat, layout.total);
}

/**
 * Several networks' trainable weights in one flat vector, one network after
 * another ([generator | discriminator] for a GAN).
 */
export function readAllParams(models: LayersModel[]): Float32Array {
  const weights = models.flatMap((m) => m.trainableWeights);
  return readWeights(weights, new Float32Array(lengthOf(weights)));
}

export function writeAllParams(models: LayersModel[], flat: Float32Array): void {
  const weights = models.flatMap((m) => m.trainableWeights);
  writeWeights(weights, flat, lengthOf(weights));
}

/** The non-trainable weights (batch-norm moving statistics) of a model, or of several one after another, concatenated in model order. */
export function readState(models: LayersModel | LayersModel[]): Float32Array {
  return readWeights(stateWeights(models), new Float32Array(stateLength(models)));
}

export function writeState(models: LayersModel | LayersModel[], flat: Float32Array): void {
  writeWeights(stateWeights(models), flat, stateLength(models));
}

export function stateLength(models: LayersModel | LayersModel[]): number {
  return lengthOf(stateWeights(models));
}

const stateWeights = (models: LayersModel | LayersModel[]) => [models].flat().flatMap((m) => m.nonTrainableWeights);
const lengthOf = (weights: LayerVariable[]) => weights.reduce((n, w) => n + sizeOf(w.shape as number[]), 0);

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function readWeights(weights: LayerVariable[], out: Float32Array): Float32Array {
  let offset = 0;
  for (const w of weights) {
    const v = w.read().dataSync() as Float32Array;
    out.set(v, offset);
    offset += v.length;
  }
  return out;
}

function writeWeights(weights: LayerVariable[], flat: Float32Array, total: number): void {
  if (flat.length !== total) throw new Error(`${flat.length} values for weights of ${total}`);
  let offset = 0;
  for (const w of weights) {
    const shape = w.shape as number[];
    const size = sizeOf(shape);
    const t = tf.tensor(flat.subarray(offset, offset + size), shape, 'float32');
    w.write(t);
    t.dispose();
    offset += size;
  }
}

/** Packs gradient tensors (in layout order) into `out`, all but those `skip` marks (already there). */
export function packTensors(tensors: tf.Tensor[], layout: FlatLayout, out: Float32Array, skip?: boolean[]): void {
  if (tensors.length !== layout.entries.length) throw new Error(`${tensors.length} tensors for a layout of ${layout.entries.length}`);
  const heap = heapView();
  tensors.forEach((t, i) => {
    if (!skip?.[i]) out.set(heap?.(t) ?? (t.dataSync() as Float32Array), layout.entries[i].offset);
  });
}

/**
 * On wasm, a view of a tensor's memory in the heap: reading it skips the copy
 * that dataSync makes (one copy of every gradient per step fewer). The view
 * is valid only until the next tfjs call, so it is copied at once.
 */
export function heapView(): ((t: tf.Tensor) => Float32Array) | undefined {
  const h = tf.getBackend() === 'wasm' ? wasmHeapOf(tf.engine().backend) : undefined;
  return h && ((t) => h.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array);
}

/**
 * A float32 tensor's values to read at once: on wasm a view of its memory in
 * the heap (no copy; valid only until the next tfjs call), elsewhere dataSync.
 */
export function valuesNow(t: tf.Tensor): Float32Array {
  return heapView()?.(t) ?? (t.dataSync() as Float32Array);
}
