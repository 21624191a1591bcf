/**
 * Building kernels out of other kernels of the same backend, as tfjs
 * backends do internally: call the registered kernel functions directly and
 * free every intermediate with `backend.disposeData`.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelBackend, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

export type Inputs = Record<string, TensorInfo>;

export function callKernel(name: string, backendName: string, backend: unknown, inputs: Inputs, attrs: NamedAttrMap = {}): TensorInfo {
  const k = getKernel(name, backendName);
  if (!k) throw new Error(`kernel ${name} is not registered for backend ${backendName}`);
  return k.kernelFunc({ inputs, backend: backend as KernelBackend, attrs }) as TensorInfo;
}

export function dispose(backend: unknown, ...infos: TensorInfo[]): void {
  for (const t of infos) (backend as KernelBackend).disposeData(t.dataId);
}

/** Perm that swaps the last two axes of a rank-r tensor. */
export function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

const REPLACED = Symbol('dtrain.replaced');

/** Swaps a registered kernel for one built around it; a second call is a no-op. */
export function replaceKernel(kernelName: string, backendName: string, build: (original: KernelFunc) => KernelFunc): void {
  const original = getKernel(kernelName, backendName);
  if (!original) throw new Error(`${backendName} has no ${kernelName} kernel to replace`);
  if ((original.kernelFunc as { [REPLACED]?: boolean })[REPLACED]) return;
  const kernelFunc = build(original.kernelFunc);
  (kernelFunc as { [REPLACED]?: boolean })[REPLACED] = true;
  unregisterKernel(kernelName, backendName);
  registerKernel({ ...original, kernelFunc });
}
