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
