/** Small data sets in every file format a job's data section reads, and a model module: written by the tests that use them. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { dump } from 'npyjs';
import { PNG } from 'pngjs';
import { rng } from './seeded-rng.js';

export const SPECIES = ['alpine', 'coastal', 'desert'];

/** Three classes of 4 measurements, rows in class order, the label in the third column. */
export function writeCsv(file: string, rows: number, seed = 1): void {
  const r = rng(seed);
  const lines = ['height,width,species,depth,weight'];
  for (let i = 0; i < rows; i++) {
    const c = Math.floor((i * 3) / rows);
    const v = (m: number) => (m + (r() - 0.5) * 1.5).toFixed(3);
    lines.push([v(c), v(2 - c), SPECIES[c], v(c * 0.5), v(1)].join(','));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

/** Features [n, 2, 3] float64 and labels [n] int32 as .npy files. */
export function writeNpy(dir: string, prefix: string, n: number, seed = 2): { x: Float64Array; y: Int32Array } {
  const r = rng(seed);
  const x = new Float64Array(n * 6);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 6; j++) x[i * 6 + j] = (j % 3 === y[i] ? 1.5 : 0) + (r() - 0.5);
  }
  writeFileSync(join(dir, `${prefix}x.npy`), Buffer.from(dump(x, [n, 2, 3])));
  writeFileSync(join(dir, `${prefix}y.npy`), Buffer.from(dump(y, [n])));
  return { x, y };
}

/** An RGBA image of w × h whose pixels are `pixel(x, y)` → [r, g, b]. */
export function rgba(w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      data.set([r, g, b, 255], (y * w + x) * 4);
    }
  return data;
}

export function writePng(file: string, w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): void {
  const png = new PNG({ width: w, height: h });
  rgba(w, h, pixel).copy(png.data);
  writeFileSync(file, PNG.sync.write(png));
}

/**
 * A folder of 3 classes of images (stripes across, stripes down, a square),
 * `per` each, mostly 10×10 PNG, every fifth a 12×12 JPEG: a size of 8×8
 * makes every image resized.
 */
export function writeImageFolder(dir: string, per: number, seed = 3): void {
  const r = rng(seed);
  const patterns: Record<string, (x: number, y: number) => number> = {
    across: (_x, y) => (y % 4 < 2 ? 220 : 30),
    down: (x) => (x % 4 < 2 ? 220 : 30),
    square: (x, y, s = 10) => (x > s * 0.25 && x < s * 0.75 && y > s * 0.25 && y < s * 0.75 ? 230 : 20),
  };
  for (const [name, f] of Object.entries(patterns)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < per; i++) {
      const noise = () => Math.round((r() - 0.5) * 60);
      const px = (x: number, y: number): [number, number, number] => {
        const v = Math.max(0, Math.min(255, f(x, y) + noise()));
        return [v, v, v];
      };
      if (i % 5 === 4) {
        const data = rgba(12, 12, (x, y) => px((x * 10) / 12, (y * 10) / 12));
        writeFileSync(join(dir, name, `${i}.jpg`), jpeg.encode({ width: 12, height: 12, data }, 95).data);
      } else writePng(join(dir, name, `${i}.png`), 10, 10, px);
    }
  }
}

/** A data module: Gaussian blobs in 5 dimensions, 4 classes, made from the seed it is given; it records which samples each process read. */
export const DATA_MODULE = `
import { appendFileSync } from 'node:fs';
function blobs(n, seed, salt) {
  let a = (seed * 7919 + salt) >>> 0;
  const r = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const x = new Float32Array(n * 5), y = new Int32Array(n);
  for (let i = 0; i < n; i++) { y[i] = i % 4; for (let j = 0; j < 5; j++) x[i * 5 + j] = (j === y[i] ? 2 : 0) + r() - 0.5; }
  return { x, y };
}
function split(n, seed, salt, log) {
  const all = blobs(n, seed, salt);
  return {
    length: n,
    read(indices) {
      if (log) appendFileSync(log, process.pid + ' ' + indices.length + '\\n');
      const x = new Float32Array(indices.length * 5);
      indices.forEach((k, i) => x.set(all.x.subarray(k * 5, k * 5 + 5), i * 5));
      return { x, y: Array.from(indices, (k) => all.y[k]) };
    },
  };
}
export default async function ({ seed, options }) {
  return { train: split(options.train, seed, 1, options.log), test: split(options.test, seed, 2), featureShape: [5], classes: 4 };
}
`;

/** A model module: plain tfjs layers, nothing of dtrain's but the default export's arguments. */
export const MODEL_MODULE = `
export default function ({ tf, inputShape, classes, options }) {
  const layers = [];
  if (inputShape.length > 1) layers.push(tf.layers.flatten({ inputShape }));
  layers.push(tf.layers.dense({ units: options.hidden ?? 16, activation: 'relu', ...(inputShape.length > 1 ? {} : { inputShape }) }));
  layers.push(tf.layers.dense({ units: classes }));
  return tf.sequential({ layers });
}
`;
