/** Drawing into a Raster: one pixel, or an image zoomed. */
import type { Raster } from './png.js';

/** Sets pixel (x, y) to `colour` (one value per channel; a single value fills every channel); outside the raster, nothing. */
export function setPixel(r: Raster, x: number, y: number, colour: ArrayLike<number>): void {
  if (x < 0 || y < 0 || x >= r.width || y >= r.height) return;
  const at = (y * r.width + x) * r.channels;
  for (let k = 0; k < r.channels; k++) r.pixels[at + k] = colour.length === 1 ? colour[0] : colour[k];
}

/**
 * Draws an image of `width` columns and `channels` (1 or the raster's)
 * values per pixel with its top-left corner at (x0, y0), each pixel
 * zoom × zoom; a value v becomes the byte round(clamp(unit(v), 0, 1) · 255).
 * A one-channel image on an RGB raster is drawn grey.
 */
export function drawImage(r: Raster, x0: number, y0: number, values: ArrayLike<number>, width: number, channels: number, zoom: number, unit: (v: number) => number): void {
  if (channels !== 1 && channels !== r.channels) throw new RangeError(`a ${channels}-channel image on a ${r.channels}-channel raster`);
  const height = values.length / (width * channels);
  for (let y = 0; y < height * zoom; y++) {
    for (let x = 0; x < width * zoom; x++) {
      const src = (Math.floor(y / zoom) * width + Math.floor(x / zoom)) * channels;
      const dst = ((y0 + y) * r.width + x0 + x) * r.channels;
      for (let k = 0; k < r.channels; k++) r.pixels[dst + k] = Math.round(Math.min(1, Math.max(0, unit(values[src + (channels === 1 ? 0 : k)]))) * 255);
    }
  }
}
