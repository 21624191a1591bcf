/** Direct access to tensors in the wasm backend's heap, for kernels written as plain loops. */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

/** The slice of BackendWasm these kernels use. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function heap(backend: unknown): WasmHeap {
  const b = backend as Partial<WasmHeap>;
  if (typeof b.makeOutput !== 'function' || typeof b.typedArrayFromHeap !== 'function') throw new Error('not the wasm backend');
  return b as WasmHeap;
}
