/**
 * dtrain's additions to tfjs-backend-wasm: the training kernels it lacks,
 * faster replacements for its Conv2DBackpropInput and MaxPoolGrad, and a fast
 * path for transposed matrix products. Registering is idempotent and can
 * happen before the wasm backend is initialised.
 */
import { getKernel, registerKernel, type KernelFunc } from '@tensorflow/tfjs-core';
import { replaceKernel } from './compose.js';
import { conv2DBackpropFilter, conv2DBackpropInput, depthwiseBackpropFilter, depthwiseBackpropInput } from './wasm-conv-grads.js';
import { registerWasmMatMul } from './wasm-matmul.js';
import { maxPoolGrad } from './wasm-pool-grads.js';
import { unsortedSegmentSum } from './wasm-segment.js';

const missing: Record<string, KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
};

export function registerWasmTrainingKernels(): void {
  for (const [kernelName, kernelFunc] of Object.entries(missing)) {
    if (!getKernel(kernelName, 'wasm')) registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  registerWasmMatMul();
  replaceKernel('Conv2DBackpropInput', 'wasm', () => conv2DBackpropInput);
  replaceKernel('MaxPoolGrad', 'wasm', () => maxPoolGrad);
}
