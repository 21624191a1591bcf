/** UnsortedSegmentSum on wasm (the gradient of gather, hence of embeddings): out[ids[i]] += x[i]. */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { heap, outputAndViews } from './wasm-heap.js';

export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as { numSegments: number };
  const h = heap(backend);
  // segmentIds covers the leading dimensions of x; each id addresses a block of `inner` values.
  const inner = util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const { out, outView: ov, views: [ids, xv] } = outputAndViews(h, [numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, [segmentIds, x]);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j];
  }
  return out;
};
