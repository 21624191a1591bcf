/**
 * The adversarial gallery's picture: one row per test image, three columns
 * (the clean image, the perturbation, the adversarial image), each image
 * captioned with the model's prediction and its probability, green when
 * right and red when wrong. The perturbation is drawn mid-grey for 0, white
 * for +ε and black for −ε.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from '../../image/font.js';
import type { Raster } from '../../image/png.js';
import { drawImage } from '../../image/raster.js';

export interface Prediction {
  label: number;
  probability: number;
}

export interface GalleryRow {
  /** The clean and the adversarial image, h × w greyscale values. */
  clean: Float32Array;
  adversarial: Float32Array;
  /** The true label. */
  label: number;
  cleanPrediction: Prediction;
  adversarialPrediction: Prediction;
}

export interface GalleryLayout {
  /** Image height and width. */
  height: number;
  width: number;
  /** The range of pixel values drawn black to white. */
  range: [number, number];
  epsilon: number;
  /** The title line, e.g. 'PGD-20 AT EPS 0.1'. */
  title: string;
  classNames: string[];
  zoom?: number;
}

const BACKGROUND = [24, 24, 24];
const GREY = [170, 170, 170];
const WHITE = [235, 235, 235];
const RIGHT = [96, 208, 96];
const WRONG = [240, 84, 84];
const TEXT_SCALE = 2;
const LINE = GLYPH_HEIGHT * TEXT_SCALE + 4;
const MARGIN = 8;

export function galleryPicture(rows: GalleryRow[], g: GalleryLayout): Raster {
  const zoom = g.zoom ?? 4;
  const name = (c: number) => g.classNames[c] ?? String(c);
  const pct = (p: Prediction) => `${name(p.label)} ${Math.round(100 * p.probability)}%`;
  const captions = rows.flatMap((r) => [`TRUE: ${name(r.label)}`, pct(r.cleanPrediction), pct(r.adversarialPrediction)]);
  const cell = Math.max(g.width * zoom, ...['PERTURBATION', ...captions].map((t) => textWidth(t, TEXT_SCALE)));
  const rowHeight = g.height * zoom + 2 * LINE + MARGIN;
  const top = MARGIN + 2 * LINE;
  const width = 3 * cell + 4 * MARGIN;
  const height = top + rows.length * rowHeight;
  const out: Raster = { width, height, channels: 3, pixels: new Uint8Array(width * height * 3) };
  for (let i = 0; i < width * height; i++) out.pixels.set(BACKGROUND, 3 * i);
  const column = (c: number) => MARGIN + c * (cell + MARGIN);
  drawText(out, MARGIN, MARGIN, g.title, TEXT_SCALE, WHITE);
  ['CLEAN', 'PERTURBATION', 'ADVERSARIAL'].forEach((t, c) => drawText(out, column(c), MARGIN + LINE, t, TEXT_SCALE, GREY));
  const [lo, hi] = g.range;
  const toUnit = (v: number) => (v - lo) / (hi - lo);
  rows.forEach((r, i) => {
    const y0 = top + i * rowHeight;
    const x0 = (c: number) => column(c) + Math.floor((cell - g.width * zoom) / 2);
    drawImage(out, x0(0), y0, r.clean, g.width, 1, zoom, toUnit);
    drawImage(out, x0(1), y0, r.adversarial.map((v, k) => v - r.clean[k]), g.width, 1, zoom, (d) => 0.5 + d / (2 * g.epsilon));
    drawImage(out, x0(2), y0, r.adversarial, g.width, 1, zoom, toUnit);
    const below = y0 + g.height * zoom + 4;
    const colour = (p: Prediction) => (p.label === r.label ? RIGHT : WRONG);
    drawText(out, column(0), below, `TRUE: ${name(r.label)}`, TEXT_SCALE, GREY);
    drawText(out, column(0), below + LINE, pct(r.cleanPrediction), TEXT_SCALE, colour(r.cleanPrediction));
    drawText(out, column(1), below, `MAX ${maxAbsDiff(r.clean, r.adversarial).toFixed(3)}`, TEXT_SCALE, GREY);
    drawText(out, column(2), below + LINE, pct(r.adversarialPrediction), TEXT_SCALE, colour(r.adversarialPrediction));
  });
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
