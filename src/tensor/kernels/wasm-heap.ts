/** Direct access to tensors in the wasm backend's heap, for kernels written as plain loops. */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

/** The slice of BackendWasm these kernels use. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The backend's heap access if it is the wasm backend, else undefined. */
export function wasmHeapOf(backend: unknown): WasmHeap | undefined {
  const b = backend as Partial<WasmHeap>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function' ? (b as WasmHeap) : undefined;
}

export function heap(backend: unknown): WasmHeap {
  const h = wasmHeapOf(backend);
  if (!h) throw new Error('not the wasm backend');
  return h;
}

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Allocates a kernel's output, then views the output and the inputs in the
 * heap, in that order: allocating may grow the wasm memory, which detaches
 * every view made before (length 0, reads give undefined), so a view made
 * before the allocation silently reads nothing.
 */
export function outputAndViews(h: WasmHeap, shape: number[], dtype: DataType, inputs: TensorInfo[]): { out: TensorInfo; outView: HeapArray; views: HeapArray[] } {
  const out = h.makeOutput(shape, dtype);
  return { out, outView: h.typedArrayFromHeap(out), views: inputs.map((t) => h.typedArrayFromHeap(t)) };
}
