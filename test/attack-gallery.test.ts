/** The bitmap font and the gallery picture's layout, pixel by pixel. */
import { describe, expect, it } from 'vitest';
import { galleryPicture, type GalleryRow } from '../src/jobs/adversarial/gallery-picture.js';
import { drawText, textWidth } from '../src/image/font.js';
import type { Raster } from '../src/image/png.js';

const blank = (width: number, height: number): Raster => ({ width, height, channels: 1, pixels: new Uint8Array(width * height) });
const rows = (r: Raster) => Array.from({ length: r.height }, (_, y) => [...r.pixels.subarray(y * r.width, (y + 1) * r.width)].map((v) => (v ? '#' : '.')).join(''));

describe('bitmap font', () => {
  it('draws glyphs 3×5 with one blank column between them, scaled, lower case as capitals', () => {
    const r = blank(7, 5);
    drawText(r, 0, 0, 'l1', 1, [255]);
    expect(rows(r)).toEqual(['#....#.', '#...##.', '#....#.', '#....#.', '###.###']);
    const big = blank(6, 10);
    drawText(big, 0, 0, '-', 2, [255]);
    expect(rows(big)).toEqual(['......', '......', '......', '......', '######', '######', '......', '......', '......', '......']);
  });

  it('draws an unknown character as a box, clips at the edges, and measures text', () => {
    const r = blank(3, 5);
    drawText(r, 0, 0, '€', 1, [255]);
    expect(rows(r)).toEqual(['###', '#.#', '#.#', '#.#', '###']);
    const edge = blank(2, 2);
    drawText(edge, -1, -1, 'H', 1, [255]);
    expect(rows(edge)).toEqual(['.#', '##']);
    expect([textWidth('', 2), textWidth('A', 2), textWidth('ABC', 1)]).toEqual([0, 6, 11]);
  });
});

describe('gallery picture', () => {
  const image = (f: (i: number) => number) => Float32Array.from({ length: 4 }, (_, i) => f(i));
  const row: GalleryRow = {
    clean: image(() => 0.5),
    adversarial: image((i) => [0.6, 0.4, 0.5, 0.6][i]),
    label: 1,
    cleanPrediction: { label: 1, probability: 0.9 },
    adversarialPrediction: { label: 0, probability: 0.7 },
  };
  const g = galleryPicture([row, row], { height: 2, width: 2, range: [0, 1], epsilon: 0.1, title: 'T', classNames: ['A', 'B'], zoom: 3 });
  const at = (x: number, y: number) => [...g.pixels.subarray((y * g.width + x) * 3, (y * g.width + x) * 3 + 3)];

  it('lays out 3 columns as wide as the widest caption, a title and header, one band per row', () => {
    const cell = textWidth('PERTURBATION', 2); // wider than any caption here and than the 6-pixel images
    expect(g.width).toBe(3 * cell + 4 * 8);
    expect(g.height).toBe(8 + 2 * 14 + 2 * (2 * 3 + 2 * 14 + 8));
  });

  it('draws the clean image, the perturbation (grey 0, white +ε, black −ε) and the adversarial image', () => {
    const cell = textWidth('PERTURBATION', 2);
    const x0 = (c: number) => 8 + c * (cell + 8) + Math.floor((cell - 6) / 2);
    const y0 = 8 + 2 * 14;
    expect(at(x0(0), y0)).toEqual([128, 128, 128]); // 0.5
    expect(at(x0(1), y0)).toEqual([255, 255, 255]); // +0.1 = +ε
    expect(at(x0(1) + 3, y0)).toEqual([0, 0, 0]); // −ε
    expect(at(x0(1), y0 + 3)).toEqual([128, 128, 128]); // 0
    expect(at(x0(2), y0)).toEqual([153, 153, 153]); // 0.6
    expect(at(x0(2) + 5, y0 + 5)).toEqual([153, 153, 153]); // the zoomed pixel's far corner
  });

  it('captions the predictions green when right, red when wrong', () => {
    const cell = textWidth('PERTURBATION', 2);
    const colours = (c: number, line: number) => {
      const seen = new Set<string>();
      const y = 8 + 2 * 14 + 6 + 4 + line * 14;
      for (let dy = 0; dy < 10; dy++) for (let x = 8 + c * (cell + 8); x < 8 + c * (cell + 8) + cell; x++) seen.add(at(x, y + dy).join(','));
      return seen;
    };
    expect(colours(0, 1).has('96,208,96')).toBe(true);
    expect(colours(0, 1).has('240,84,84')).toBe(false);
    expect(colours(2, 1).has('240,84,84')).toBe(true);
    expect(colours(2, 1).has('96,208,96')).toBe(false);
  });
});
