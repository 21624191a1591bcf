/**
 * A 3×5 bitmap font (capitals, digits and a little punctuation) for
 * captions in pictures; each glyph is five rows of three pixels, '#' on.
 * Lower-case letters are drawn as capitals; other characters as a box.
 */
import type { Raster } from './png.js';
import { setPixel } from './raster.js';

const GLYPHS: Record<string, string> = {
  A: '.#.|#.#|###|#.#|#.#', B: '##.|#.#|##.|#.#|##.', C: '.##|#..|#..|#..|.##', D: '##.|#.#|#.#|#.#|##.',
  E: '###|#..|##.|#..|###', F: '###|#..|##.|#..|#..', G: '.##|#..|#.#|#.#|.##', H: '#.#|#.#|###|#.#|#.#',
  I: '###|.#.|.#.|.#.|###', J: '..#|..#|..#|#.#|.#.', K: '#.#|#.#|##.|#.#|#.#', L: '#..|#..|#..|#..|###',
  M: '#.#|###|###|#.#|#.#', N: '##.|#.#|#.#|#.#|#.#', O: '.#.|#.#|#.#|#.#|.#.', P: '##.|#.#|##.|#..|#..',
  Q: '.#.|#.#|#.#|##.|.##', R: '##.|#.#|##.|#.#|#.#', S: '.##|#..|.#.|..#|##.', T: '###|.#.|.#.|.#.|.#.',
  U: '#.#|#.#|#.#|#.#|###', V: '#.#|#.#|#.#|#.#|.#.', W: '#.#|#.#|###|###|#.#', X: '#.#|#.#|.#.|#.#|#.#',
  Y: '#.#|#.#|.#.|.#.|.#.', Z: '###|..#|.#.|#..|###',
  0: '###|#.#|#.#|#.#|###', 1: '.#.|##.|.#.|.#.|###', 2: '##.|..#|.#.|#..|###', 3: '##.|..#|.#.|..#|##.',
  4: '#.#|#.#|###|..#|..#', 5: '###|#..|##.|..#|##.', 6: '.##|#..|###|#.#|###', 7: '###|..#|.#.|.#.|.#.',
  8: '###|#.#|###|#.#|###', 9: '###|#.#|###|..#|##.',
  ' ': '...|...|...|...|...', '.': '...|...|...|...|.#.', ',': '...|...|...|.#.|#..', '-': '...|...|###|...|...',
  '%': '#.#|..#|.#.|#..|#.#', '/': '..#|..#|.#.|#..|#..', ':': '...|.#.|...|.#.|...', '(': '.#.|#..|#..|#..|.#.',
  ')': '.#.|..#|..#|..#|.#.', '=': '...|###|...|###|...', '+': '...|.#.|###|.#.|...', '×': '...|#.#|.#.|#.#|...',
};
const BOX = '###|#.#|#.#|#.#|###';

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;
/** Horizontal advance per character, in font pixels (glyph + one blank column). */
export const ADVANCE = GLYPH_WIDTH + 1;

/** The width in raster pixels of `text` drawn at `scale` (no trailing blank column). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** Draws `text` with its top-left corner at (x, y), each font pixel scale × scale raster pixels; clipped to the raster. */
export function drawText(r: Raster, x: number, y: number, text: string, scale: number, colour: number[]): void {
  [...text].forEach((ch, i) => {
    const rows = (GLYPHS[ch.toUpperCase()] ?? BOX).split('|');
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (rows[gy][gx] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) setPixel(r, x + (i * ADVANCE + gx) * scale + dx, y + gy * scale + dy, colour);
        }
      }
    }
  });
}
