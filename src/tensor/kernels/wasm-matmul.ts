/**
 * Matrix products with transposed operands on wasm. tfjs-backend-wasm runs
 * them through XNNPACK with the transpose flags at a fraction of the speed of
 * the plain product; every dense layer's backward pass asks for them. An
 * explicit Transpose kernel followed by the untransposed product is several
 * times faster (see docs/design.md for the figures).
 *
 * tfjs-backend-wasm 4.22's _FusedMatMul also gets batched products (batch
 * > 1) with a bias wrong (measured: over 100% relative error against cpu);
 * those go through product, bias add and activation as separate kernels.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { callKernel, dispose, replaceKernel, swapLastTwo } from './compose.js';

function explicitTranspose(name: '_FusedMatMul' | 'BatchMatMul') {
  return (inner: KernelFunc): KernelFunc =>
    ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (name === '_FusedMatMul' && inputs.bias && batchOf(a) * batchOf(b) > 1) return unfused(inputs as unknown as FusedInputs, backend, attrs as unknown as FusedAttrs);
      if (!transposeA && !transposeB) return inner({ inputs, backend, attrs });
      const ta = transposeA ? callKernel('Transpose', 'wasm', backend, { x: a }, { perm: swapLastTwo(a.shape.length) }) : a;
      const tb = transposeB ? callKernel('Transpose', 'wasm', backend, { x: b }, { perm: swapLastTwo(b.shape.length) }) : b;
      try {
        return inner({ inputs: { ...inputs, a: ta, b: tb }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        if (transposeA) dispose(backend, ta);
        if (transposeB) dispose(backend, tb);
      }
    };
}

const batchOf = (t: TensorInfo) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);

interface FusedInputs {
  a: TensorInfo;
  b: TensorInfo;
  bias: TensorInfo;
  preluActivationWeights?: TensorInfo;
}
interface FusedAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation: string;
  leakyreluAlpha?: number;
}

const ACTIVATION_KERNELS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' };

/** matmul → + bias → activation, each through its own (correct) kernel. */
function unfused(inputs: FusedInputs, backend: unknown, attrs: FusedAttrs): TensorInfo {
  const product = callKernel('BatchMatMul', 'wasm', backend, { a: inputs.a, b: inputs.b }, { transposeA: attrs.transposeA, transposeB: attrs.transposeB });
  const biased = callKernel('Add', 'wasm', backend, { a: product, b: inputs.bias });
  dispose(backend, product);
  if (attrs.activation === 'linear' || !attrs.activation) return biased;
  const kernel = ACTIVATION_KERNELS[attrs.activation];
  if (!kernel) throw new Error(`_FusedMatMul: unknown activation ${attrs.activation}`);
  const out =
    kernel === 'Prelu'
      ? callKernel(kernel, 'wasm', backend, { x: biased, alpha: inputs.preluActivationWeights! })
      : callKernel(kernel, 'wasm', backend, { x: biased }, kernel === 'LeakyRelu' ? { alpha: attrs.leakyreluAlpha ?? 0.2 } : {});
  dispose(backend, biased);
  return out;
}

export function registerWasmMatMul(): void {
  replaceKernel('BatchMatMul', 'wasm', explicitTranspose('BatchMatMul'));
  replaceKernel('_FusedMatMul', 'wasm', explicitTranspose('_FusedMatMul'));
}
