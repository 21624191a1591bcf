/** Pictures of generated samples: a grid of images, or a scatter plot of 2-D points. */
import type { Raster } from './png.js';
import { drawImage, setPixel } from './raster.js';

const GAP = 2;
/** The grey of the gaps between images, apart from both black and white backgrounds. */
const GAP_GREY = 128;

/**
 * Tiles n images (row-major [n, h, w, c], c = 1 or 3, values in [lo, hi])
 * into a grid of ⌈√n⌉ columns with 2-pixel grey gaps, each pixel drawn zoom × zoom.
 */
export function imageGrid(samples: Float32Array, n: number, shape: number[], range: [number, number], zoom = 1): Raster {
  if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) throw new RangeError(`a grid needs images of shape [h, w, 1 or 3], got [${shape}]`);
  const [h, w, c] = shape as [number, number, 1 | 3];
  if (samples.length < n * h * w * c) throw new RangeError(`${samples.length} values for ${n} images of ${h}×${w}×${c}`);
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const [tw, th] = [w * zoom, h * zoom];
  const width = cols * tw + (cols + 1) * GAP;
  const height = rows * th + (rows + 1) * GAP;
  const out: Raster = { width, height, channels: c, pixels: new Uint8Array(width * height * c).fill(GAP_GREY) };
  const [lo, hi] = range;
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    const x0 = GAP + (i % cols) * (tw + GAP);
    const y0 = GAP + Math.floor(i / cols) * (th + GAP);
    drawImage(out, x0, y0, samples.subarray(i * size, (i + 1) * size), w, c, zoom, (v) => (v - lo) / (hi - lo));
  }
  return out;
}

/**
 * A size × size scatter plot of 2-D points (row-major [n, 2]) on white, axes
 * through the origin in grey, the view square and centred on the origin,
 * wide enough for every point plus 10%.
 */
export function scatterPlot(points: Float32Array, size = 384): Raster {
  const n = Math.floor(points.length / 2);
  let extent = 1e-6;
  for (const v of points) if (Number.isFinite(v)) extent = Math.max(extent, Math.abs(v));
  extent *= 1.1;
  const out: Raster = { width: size, height: size, channels: 3, pixels: new Uint8Array(size * size * 3).fill(255) };
  const at = (v: number) => Math.round(((v + extent) / (2 * extent)) * (size - 1));
  const mid = at(0);
  for (let i = 0; i < size; i++) {
    setPixel(out, i, mid, [200, 200, 200]);
    setPixel(out, mid, i, [200, 200, 200]);
  }
  for (let i = 0; i < n; i++) {
    const [x, y] = [at(points[2 * i]), size - 1 - at(points[2 * i + 1])];
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) setPixel(out, x + dx, y + dy, [31, 84, 160]);
  }
  return out;
}
