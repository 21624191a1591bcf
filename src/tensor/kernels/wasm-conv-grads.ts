/**
 * Convolution gradients that tfjs-backend-wasm lacks.
 *
 * Conv2DBackpropFilter is one fast wasm (XNNPACK) convolution of transposed
 * tensors: with x padded and laid out as [Cin, Hp, Wp, B] and dy used as a
 * filter [OH, OW, B, Cout], a VALID convolution with stride = the forward
 * dilation and dilation = the forward stride gives
 *   out[ci, i, j, co] = Σ_{b,oh,ow} xpad[b, oh·s + i·d, ow·s + j·d, ci] · dy[b, oh, ow, co]
 * which is dW[i, j, ci, co] for i < KH, j < KW.
 *
 * Conv2DBackpropInput replaces tfjs-backend-wasm's own, which runs at a
 * tenth of the speed of a forward convolution of the same size. The input
 * gradient is a stride-1 correlation of dy (zero-interleaved when the forward
 * stride is s > 1) with the filter flipped in space and its channel axes
 * swapped, dilated as the forward filter was:
 *   dx[ih] = Σ_j dy'[ih + j·d − ((KH−1)·d − pad_top)] · W[KH−1−j],
 * padded so that the output is exactly H × W. (The original wasm kernel also
 * ignores dilation: measured wrong against float64.)
 *
 * The depthwise gradients are direct loops over the heap: they are correct
 * for every stride, padding and dilation, and not on the hot path of the
 * models dtrain ships.
 */
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { callKernel, dispose } from './compose.js';
import { heap, outputAndViews } from './wasm-heap.js';

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  /** Absent from Conv2DBackpropFilter's attrs in tfjs: 1. */
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  inputShape?: [number, number, number, number];
}

function requireNHWC(format: string | undefined, kernel: string): void {
  if (format !== undefined && format !== 'NHWC') throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got ${format}`);
}

export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as ConvAttrs;
  requireNHWC(a.dataFormat, 'Conv2DBackpropFilter');
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const padded = callKernel('PadV2', 'wasm', backend, { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
  const xt = callKernel('Transpose', 'wasm', backend, { x: padded }, { perm: [3, 1, 2, 0] }); // [Cin, Hp, Wp, B]
  const filt = callKernel('Transpose', 'wasm', backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, B, Cout]
  const conv = callKernel('Conv2D', 'wasm', backend, { x: xt, filter: filt }, {
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
    pad: 'valid',
    dataFormat: 'NHWC',
  });
  const [cin, kh, kw, cout] = [info.inChannels, info.filterHeight, info.filterWidth, info.outChannels];
  const cut = conv.shape[1] === kh && conv.shape[2] === kw ? conv : callKernel('Slice', 'wasm', backend, { x: conv }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
  const dw = callKernel('Transpose', 'wasm', backend, { x: cut }, { perm: [1, 2, 0, 3] });
  dispose(backend, padded, xt, filt, conv);
  if (cut !== conv) dispose(backend, cut);
  return dw;
};

/** Places dy[b, oh, ow, c] at [b, oh·sh, ow·sw, c] of a zero tensor: the "input dilation" wasm lacks. */
function interleaveZeros(dy: TensorInfo, sh: number, sw: number, backend: unknown): TensorInfo {
  const [b, oh, ow, c] = dy.shape;
  const h = heap(backend);
  const { out, outView: dst, views: [src] } = outputAndViews(h, [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c], 'float32', [dy]);
  dst.fill(0);
  const [H, W] = [out.shape[1], out.shape[2]];
  for (let n = 0; n < b; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const from = ((n * oh + i) * ow + j) * c;
        dst.set(src.subarray(from, from + c), ((n * H + i * sh) * W + j * sw) * c);
      }
  return out;
}

export const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as ConvAttrs;
  requireNHWC(a.dataFormat, 'Conv2DBackpropInput');
  const info = backend_util.computeConv2DInfo(a.inputShape!, filter.shape as ConvAttrs['filterShape'], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, inHeight: H, inWidth: W } = info;
  const spread = sh === 1 && sw === 1 ? dy : interleaveZeros(dy, sh, sw, backend);
  const kh = (info.filterHeight - 1) * dh + 1; // extent of the dilated filter
  const kw = (info.filterWidth - 1) * dw + 1;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  // Pad so that the stride-1 VALID correlation has exactly H × W outputs; cut any excess.
  const bottom = Math.max(0, H + kh - 1 - top - spread.shape[1]);
  const right = Math.max(0, W + kw - 1 - left - spread.shape[2]);
  const padded = callKernel('PadV2', 'wasm', backend, { x: spread }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
  const flipped = callKernel('Reverse', 'wasm', backend, { x: filter }, { dims: [0, 1] });
  const wt = callKernel('Transpose', 'wasm', backend, { x: flipped }, { perm: [0, 1, 3, 2] });
  const conv = callKernel('Conv2D', 'wasm', backend, { x: padded, filter: wt }, { strides: 1, dilations: [dh, dw], pad: 'valid', dataFormat: 'NHWC' });
  const exact = conv.shape[1] === H && conv.shape[2] === W;
  const dx = exact ? conv : callKernel('Slice', 'wasm', backend, { x: conv }, { begin: [0, 0, 0, 0], size: [conv.shape[0], H, W, conv.shape[3]] });
  if (spread !== dy) dispose(backend, spread);
  dispose(backend, padded, flipped, wt);
  if (!exact) dispose(backend, conv);
  return dx;
};

function depthwiseInfo(xShape: number[], a: ConvAttrs) {
  requireNHWC(a.dataFormat, 'depthwise convolution gradients');
  return backend_util.computeConv2DInfo(xShape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true, 'channelsLast');
}

/**
 * Calls fn(xo, dyo, wo) for every tap of a depthwise convolution that lands
 * inside the input: the offsets of input pixel, output pixel and filter tap,
 * each at channel 0 (x has Cin channels; dy and the flattened filter Cout).
 */
function forEachTap(info: backend_util.Conv2DInfo, fn: (xo: number, dyo: number, wo: number) => void): void {
  const { inHeight: H, inWidth: W, inChannels: cin, outHeight: OH, outWidth: OW, outChannels: cout, filterWidth: KW } = info;
  for (let b = 0; b < info.batchSize; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let kh = 0; kh < info.filterHeight; kh++) {
        const ih = oh * info.strideHeight + kh * info.dilationHeight - info.padInfo.top;
        if (ih < 0 || ih >= H) continue;
        for (let ow = 0; ow < OW; ow++)
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * info.strideWidth + kw * info.dilationWidth - info.padInfo.left;
            if (iw >= 0 && iw < W) fn(((b * H + ih) * W + iw) * cin, ((b * OH + oh) * OW + ow) * cout, (kh * KW + kw) * cout);
          }
      }
}

export const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const info = depthwiseInfo(x.shape, attrs as unknown as ConvAttrs);
  const h = heap(backend);
  const { out, outView: dw, views: [xv, dyv] } = outputAndViews(h, info.filterShape, 'float32', [x, dy]);
  dw.fill(0);
  const m = info.outChannels / info.inChannels;
  forEachTap(info, (xo, dyo, wo) => {
    for (let c = 0; c < info.outChannels; c++) dw[wo + c] += xv[xo + Math.floor(c / m)] * dyv[dyo + c];
  });
  return out;
};

export const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as ConvAttrs;
  const info = depthwiseInfo(a.inputShape as number[], { ...a, filterShape: filter.shape as ConvAttrs['filterShape'] });
  const h = heap(backend);
  const { out, outView: dx, views: [dyv, wv] } = outputAndViews(h, info.inShape, 'float32', [dy, filter]);
  dx.fill(0);
  const m = info.outChannels / info.inChannels;
  forEachTap(info, (xo, dyo, wo) => {
    for (let c = 0; c < info.outChannels; c++) dx[xo + Math.floor(c / m)] += dyv[dyo + c] * wv[wo + c];
  });
  return out;
};
