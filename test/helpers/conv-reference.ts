/** Float64 reference computations of convolution gradients, written from the definitions. */
import { backend_util } from '@tensorflow/tfjs-core';

export interface Geometry {
  x: number[]; // [B, H, W, Cin]
  k: [number, number];
  /** Output channels (conv) or channel multiplier (depthwise). */
  out: number;
  s: number;
  d: number;
  pad: 'same' | 'valid';
  depthwise: boolean;
}

export function info(g: Geometry): backend_util.Conv2DInfo {
  const filter = [g.k[0], g.k[1], g.x[3], g.out] as [number, number, number, number];
  return backend_util.computeConv2DInfo(g.x as [number, number, number, number], filter, g.s, g.d, g.pad, undefined, g.depthwise);
}

/** Visits every (input, filter, output) index triple of the convolution that lands inside the input. */
function taps(g: Geometry, fn: (xi: number, wi: number, yi: number) => void): void {
  const c = info(g);
  const m = g.depthwise ? g.out : 1;
  const cout = c.outChannels;
  for (let b = 0; b < c.batchSize; b++)
    for (let oh = 0; oh < c.outHeight; oh++)
      for (let ow = 0; ow < c.outWidth; ow++)
        for (let kh = 0; kh < c.filterHeight; kh++)
          for (let kw = 0; kw < c.filterWidth; kw++) {
            const ih = oh * c.strideHeight + kh * c.dilationHeight - c.padInfo.top;
            const iw = ow * c.strideWidth + kw * c.dilationWidth - c.padInfo.left;
            if (ih < 0 || iw < 0 || ih >= c.inHeight || iw >= c.inWidth) continue;
            for (let co = 0; co < cout; co++) {
              const ci = g.depthwise ? Math.floor(co / m) : -1;
              const xo = ((b * c.inHeight + ih) * c.inWidth + iw) * c.inChannels;
              const yi = ((b * c.outHeight + oh) * c.outWidth + ow) * cout + co;
              if (g.depthwise) fn(xo + ci, (kh * c.filterWidth + kw) * cout + co, yi);
              else for (let cin = 0; cin < c.inChannels; cin++) fn(xo + cin, ((kh * c.filterWidth + kw) * c.inChannels + cin) * cout + co, yi);
            }
          }
}

export function filterGrad(g: Geometry, x: Float32Array, dy: Float32Array): Float64Array {
  const c = info(g);
  const out = new Float64Array(c.filterHeight * c.filterWidth * (g.depthwise ? c.outChannels : c.inChannels * c.outChannels));
  taps(g, (xi, wi, yi) => (out[wi] += x[xi] * dy[yi]));
  return out;
}

export function inputGrad(g: Geometry, w: Float32Array, dy: Float32Array): Float64Array {
  const out = new Float64Array(g.x.reduce((a, b) => a * b, 1));
  taps(g, (xi, wi, yi) => (out[xi] += w[wi] * dy[yi]));
  return out;
}
