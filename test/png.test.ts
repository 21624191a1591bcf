/** The PNG writer and the sample pictures, read back by an independent decoder (node's zlib CRC-32 and inflate). */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { imageGrid, scatterPlot } from '../src/image/plots.js';
import { crc32, encodePng } from '../src/image/png.js';
import { readPng } from './helpers/png-read.js';

describe('encodePng', () => {
  it('crc32 agrees with zlib on assorted inputs', () => {
    for (const s of ['', 'IEND', 'The quick brown fox jumps over the lazy dog']) expect(crc32(Buffer.from(s))).toBe(zlibCrc32(Buffer.from(s)));
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
  });

  for (const channels of [1, 3] as const) {
    it(`${channels === 1 ? 'greyscale' : 'RGB'}: chunks, size and every pixel survive a round trip`, () => {
      const [width, height] = [37, 11];
      const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 31 + 7) % 256);
      const png = readPng(encodePng({ width, height, channels, pixels }));
      expect(png).toMatchObject({ width, height, channels, chunks: ['IHDR', 'IDAT', 'IEND'] });
      expect(Buffer.from(png.pixels).equals(Buffer.from(pixels))).toBe(true);
    });
  }

  it('rejects a pixel buffer that does not fit the size, and an empty image', () => {
    expect(() => encodePng({ width: 4, height: 4, channels: 1, pixels: new Uint8Array(15) })).toThrow(/15 bytes for a 4×4×1 image/);
    expect(() => encodePng({ width: 0, height: 4, channels: 1, pixels: new Uint8Array(0) })).toThrow(/positive whole size/);
  });
});

describe('sample pictures', () => {
  it('imageGrid tiles images in ⌈√n⌉ columns with grey gaps, scaled from the value range, zoomed', () => {
    const [h, w] = [3, 2];
    const n = 5; // 3 columns, 2 rows
    const samples = new Float32Array(n * h * w);
    samples.forEach((_, i) => (samples[i] = Math.floor(i / (h * w)) / 2 - 1)); // image k is all (k/2 − 1)
    samples[6 * 4 + 5] = 7; // above the range: clamped to white
    const r = imageGrid(samples, n, [h, w, 1], [-1, 1], 2);
    expect([r.width, r.height, r.channels]).toEqual([3 * 4 + 4 * 2, 2 * 6 + 3 * 2, 1]);
    const px = (x: number, y: number) => r.pixels[y * r.width + x];
    expect(px(0, 0)).toBe(128); // gap
    expect(px(2, 2)).toBe(0); // image 0: −1 → black
    expect(px(2 + 4 + 2, 2)).toBe(Math.round(0.25 * 255)); // image 1: −0.5
    expect(px(2 + 4 + 2 + 4 + 2, 5)).toBe(128); // image 2: 0 → mid grey
    // image 4 (second row, second column), its last pixel (row 2, column 1) drawn 2×2
    const [x0, y0] = [2 + 4 + 2, 2 + 6 + 2];
    expect([px(x0 + 2, y0 + 4), px(x0 + 3, y0 + 5), px(x0 + 1, y0 + 5)]).toEqual([255, 255, 255]);
    expect(px(x0, y0)).toBe(255); // 4/2 − 1 = 1 → white
    expect(() => imageGrid(samples, n, [h, w, 2], [-1, 1])).toThrow(/1 or 3/);
  });

  it('scatterPlot puts each point where its coordinates say, in a square view centred on the origin', () => {
    const r = scatterPlot(Float32Array.from([1, 0, -1, 1]), 101);
    expect([r.width, r.height, r.channels]).toEqual([101, 101, 3]);
    const rgb = (x: number, y: number) => Array.from(r.pixels.subarray((y * 101 + x) * 3, (y * 101 + x) * 3 + 3));
    const at = (v: number) => Math.round(((v + 1.1) / 2.2) * 100);
    expect(rgb(at(1), 100 - at(0))).toEqual([31, 84, 160]);
    expect(rgb(at(-1), 100 - at(1))).toEqual([31, 84, 160]);
    expect(rgb(at(0), 3)).toEqual([200, 200, 200]); // the y axis
    expect(rgb(3, 3)).toEqual([255, 255, 255]);
  });
});
