/**
 * dtrain's additions to tfjs-backend-wasm: the training kernels it lacks and
 * a fast path for transposed matrix products. Registering is idempotent and
 * can happen before the wasm backend is initialised.
 */
import { getKernel, registerKernel, type KernelFunc } from '@tensorflow/tfjs-core';
import { replaceKernel } from './compose.js';
import { conv2DBackpropFilter, conv2DBackpropInputFast, depthwiseBackpropFilter, depthwiseBackpropInput } from './wasm-conv-grads.js';
import { registerWasmMatMul } from './wasm-matmul.js';
import { maxPoolGrad } from './wasm-pool-grads.js';
import { unsortedSegmentSum } from './wasm-segment.js';

const missing: Record<string, KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
};

export const WASM_ADDED_KERNELS = Object.keys(missing);

export function registerWasmTrainingKernels(): void {
  for (const [kernelName, kernelFunc] of Object.entries(missing)) {
    if (!getKernel(kernelName, 'wasm')) registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  registerWasmMatMul();
  replaceKernel('Conv2DBackpropInput', 'wasm', conv2DBackpropInputFast);
  replaceKernel('MaxPoolGrad', 'wasm', () => maxPoolGrad);
}
