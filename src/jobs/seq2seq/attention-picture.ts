/**
 * attention.png: the attention weights of greedy decoding on a few test
 * examples, side by side. Each panel is a heatmap, one row per decoded
 * token (the end token, drawn '.', included) and one column per source
 * symbol, each cell CELL × CELL pixels, dark for weight 0 and bright yellow
 * for 1 (viridis). The source symbols label the columns, the decoded tokens
 * the rows; the caption is the target, green when the decoding matches it
 * exactly, red when not. Reversal shows as the anti-diagonal.
 *
 * Every panel has room for maxLength columns and maxLength + 1 rows, so the
 * picture's size depends only on those and the number of panels:
 *   width  = MARGIN + panels · (LABEL + maxLength · CELL + MARGIN)
 *   height = MARGIN + 2 · LINE + LABEL + (maxLength + 1) · CELL + MARGIN
 */
import { drawText, GLYPH_HEIGHT } from '../../image/font.js';
import type { Raster } from '../../image/png.js';
import { setPixel } from '../../image/raster.js';
import { symbolName } from './data.js';

export const CELL = 16;
const TEXT_SCALE = 2;
/** The row and column labels' band: one character and a gap. */
export const LABEL = 16;
/** A line of text: the title, each panel's caption. */
export const LINE = GLYPH_HEIGHT * TEXT_SCALE + 6;
export const MARGIN = 8;

const BACKGROUND = [24, 24, 24];
const TEXT = [235, 235, 235];
const RIGHT = [96, 208, 96];
const WRONG = [240, 84, 84];
/** Viridis at 0, ¼, ½, ¾ and 1. */
const RAMP = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

export interface AttentionExample {
  source: number[];
  target: number[];
  /** The decoded tokens before the end token, and whether it ended. */
  tokens: number[];
  ended: boolean;
  /** Per decoded token (the end token included), its weights over the source steps. */
  weights: ArrayLike<number>[];
}

/** The picture's size for `panels` examples of sources up to `maxLength` symbols. */
export function attentionPictureSize(maxLength: number, panels: number): { width: number; height: number } {
  return { width: MARGIN + panels * (LABEL + maxLength * CELL + MARGIN), height: MARGIN + 2 * LINE + LABEL + (maxLength + 1) * CELL + MARGIN };
}

/** A weight in [0, 1] as an RGB colour. */
export function heatColour(v: number): number[] {
  const x = Math.min(1, Math.max(0, v)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  return RAMP[i].map((c, k) => Math.round(c + f * (RAMP[i + 1][k] - c)));
}

const END_LABEL = '.';

export function attentionPicture(examples: AttentionExample[], maxLength: number, title: string): Raster {
  const { width, height } = attentionPictureSize(maxLength, examples.length);
  const r: Raster = { width, height, channels: 3, pixels: new Uint8Array(width * height * 3) };
  for (let i = 0; i < width * height; i++) r.pixels.set(BACKGROUND, 3 * i);
  drawText(r, MARGIN, MARGIN, title, TEXT_SCALE, TEXT);
  const panelWidth = LABEL + maxLength * CELL;
  examples.forEach((e, k) => {
    const x0 = MARGIN + k * (panelWidth + MARGIN);
    const y0 = MARGIN + LINE;
    const exact = e.ended && e.tokens.length === e.target.length && e.tokens.every((t, i) => t === e.target[i]);
    drawText(r, x0, y0, e.target.map(symbolName).join(''), TEXT_SCALE, exact ? RIGHT : WRONG);
    const gridX = x0 + LABEL;
    const gridY = y0 + LINE + LABEL;
    const glyph = (x: number, y: number, text: string) => drawText(r, x + (CELL - 3 * TEXT_SCALE) / 2, y + (CELL - GLYPH_HEIGHT * TEXT_SCALE) / 2, text, TEXT_SCALE, TEXT);
    e.source.forEach((s, j) => glyph(gridX + j * CELL, gridY - LABEL, symbolName(s)));
    const rows = e.ended ? [...e.tokens.map(symbolName), END_LABEL] : e.tokens.map(symbolName);
    rows.forEach((label, t) => {
      glyph(x0, gridY + t * CELL, label);
      for (let j = 0; j < e.source.length; j++) fillCell(r, gridX + j * CELL, gridY + t * CELL, heatColour(e.weights[t][j]));
    });
  });
  return r;
}

/** A heatmap cell, with a one-pixel gap to its neighbours. */
function fillCell(r: Raster, x: number, y: number, colour: number[]): void {
  for (let dy = 0; dy < CELL - 1; dy++) for (let dx = 0; dx < CELL - 1; dx++) setPixel(r, x + dx, y + dy, colour);
}
