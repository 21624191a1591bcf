/**
 * MaxPoolGrad for wasm as one pass over the heap: for every output window,
 * find its maximum in the input and add dy there. The same semantics as the
 * cpu backend (the first maximum in window order wins; padding never wins).
 * tfjs-backend-wasm's own kernel took 37 ms for a [64, 28, 28, 32] input.
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { heap, outputAndViews } from './wasm-heap.js';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const a = attrs as unknown as PoolAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const h = heap(backend);
  const { out, outView: dx, views: [x, g] } = outputAndViews(h, input.shape, 'float32', [input, dy]);
  dx.fill(0);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * SH - top;
      const hs = Math.max(0, h0);
      const he = Math.min(H, h0 + FH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * SW - left;
        const ws = Math.max(0, w0);
        const we = Math.min(W, w0 + FW);
        const go = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let ih = hs; ih < he; ih++)
            for (let iw = ws; iw < we; iw++) {
              const i = ((b * H + ih) * W + iw) * C + c;
              if (x[i] > best) {
                best = x[i];
                at = i;
              }
            }
          if (at >= 0) dx[at] += g[go + c];
        }
      }
    }
  return out;
};
