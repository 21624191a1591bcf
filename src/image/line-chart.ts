/**
 * Line charts of training curves (loss or accuracy against step) drawn into
 * an RGB Raster: axes, gridlines, ticks, tick labels, a legend and a title.
 * Hand-written because no charting package can render to PNG here without a
 * native canvas or a browser.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';
import type { Raster } from './png.js';
import { setPixel } from './raster.js';

type Rgb = [number, number, number];

/** One line of a chart: (x, y) points joined in the order given; a non-finite coordinate breaks the line. */
export interface Series {
  name: string;
  points: [number, number][];
  colour?: [number, number, number];
  dashed?: boolean;
}

/** What to draw; width and height default to 720 × 440, the y range to the data's, padded and rounded to ticks. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  yRange?: [number, number];
}

/** Where the plot area lies (pixels, inclusive) and the data ranges its edges stand for. */
export interface ChartFrame {
  left: number;
  top: number;
  right: number;
  bottom: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** The colours series take in turn when they name none. */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
];

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [30, 30, 30];
const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];
const BORDER: Rgb = [160, 160, 160];

/** Font scales: tick labels, legend and axis labels; title. */
const SMALL = 2;
const LARGE = 3;
const TEXT_H = GLYPH_HEIGHT * SMALL;
const MARGIN = 10;
const TICK = 5;
/** Gap between a tick mark's end and its label. */
const TICK_GAP = 3;
/** Dash pattern in pixels along the line: drawn, then blank. */
const DASH_ON = 7;
const DASH_PERIOD = 12;
const SWATCH = 20;
/** Space between the y label and the plot area's top, clear of the top tick label. */
const Y_LABEL_GAP = 14;
const DOT = 5;

/** Pixels per tick wanted at most, along each axis. */
const X_TICK_SPACING = 75;
const Y_TICK_SPACING = 40;

/** m × 10^k without float noise (dividing by an exact power of ten rounds to the nearest double of the decimal). */
function decimal(m: number, k: number): number {
  return k < 0 && k >= -22 ? m / 10 ** -k : m * 10 ** k;
}

/**
 * "Nice" tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi], at most
 * maxTicks of them, ascending: the first ≤ lo, the last ≥ hi, with the
 * smallest such step. maxTicks must be at least 3 (a range around 0 needs three).
 */
export function niceTicks(lo: number, hi: number, maxTicks: number): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi || !Number.isFinite(hi - lo)) throw new RangeError(`niceTicks needs a finite range lo ≤ hi, got [${lo}, ${hi}]`);
  if (!Number.isInteger(maxTicks) || maxTicks < 3) throw new RangeError(`niceTicks needs maxTicks to be a whole number ≥ 3, got ${maxTicks}`);
  const span = hi - lo || Math.abs(lo) || 1;
  for (let k = Math.floor(Math.log10(span / maxTicks)) - 1; ; k++) {
    for (const m of [1, 2, 5]) {
      const step = decimal(m, k);
      // The epsilon keeps float error (0.3 / 0.1 = 2.9999…) from adding a tick.
      const first = Math.floor(lo / step + 1e-9);
      const last = Math.ceil(hi / step - 1e-9);
      if (last - first + 1 <= maxTicks) return Array.from({ length: last - first + 1 }, (_, i) => decimal((first + i) * m, k));
    }
  }
}

/** A tick label, compact: 0, 0.25, 1.2K, 15K, 1.5M, 2B (ten significant digits at most, so no float noise). */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  const [unit, suffix] = a >= 1e9 ? [1e9, 'B'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'K'] : [1, ''];
  return String(Number((v / unit).toPrecision(10))) + suffix;
}

interface Layout extends ChartFrame {
  width: number;
  height: number;
  xTicks: number[];
  yTicks: number[];
  /** No point with both coordinates finite. */
  empty: boolean;
}

function extent(values: number[]): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return [lo, hi];
}

function finitePoint(p: [number, number] | undefined): p is [number, number] {
  return p !== undefined && Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

/** Nice ticks inside [lo, hi] (for a range not rounded out to ticks), at most max of them, as many as that allows. */
function innerTicks(lo: number, hi: number, max: number): number[] {
  const eps = (hi - lo) * 1e-9;
  // Covering ticks overhang the range by at most one at each end.
  for (let m = max + 2; ; m--) {
    const ticks = niceTicks(lo, hi, m).filter((t) => t >= lo - eps && t <= hi + eps);
    if (ticks.length <= max || m === 3) return ticks;
  }
}

/** Sizes, ranges and ticks of a chart. */
function layout(o: LineChartOptions): Layout {
  const width = o.width ?? 720;
  const height = o.height ?? 440;
  if (!Number.isInteger(width) || width < 200) throw new RangeError(`a line chart needs a whole width of at least 200 pixels, got ${width}`);
  if (!Number.isInteger(height) || height < 150) throw new RangeError(`a line chart needs a whole height of at least 150 pixels, got ${height}`);
  if (o.yRange && !(Number.isFinite(o.yRange[0]) && Number.isFinite(o.yRange[1]) && o.yRange[0] < o.yRange[1])) throw new RangeError(`yRange must be two finite numbers, low < high, got [${o.yRange}]`);
  const all = o.series.flatMap((s) => s.points);
  const data = all.filter(finitePoint);
  const empty = data.length === 0;

  // Title, then the y label, above the plot; x tick labels and the x label below it.
  const top = MARGIN + GLYPH_HEIGHT * LARGE + 8 + TEXT_H + Y_LABEL_GAP;
  const bottom = height - 1 - (TICK + TICK_GAP + TEXT_H + 8 + TEXT_H + MARGIN);
  const maxY = Math.max(3, Math.floor((bottom - top) / Y_TICK_SPACING));
  let [yMin, yMax] = o.yRange ?? [0, 1];
  let yTicks: number[] = [];
  if (o.yRange) {
    if (!empty) yTicks = innerTicks(yMin, yMax, maxY);
  } else if (!empty) {
    const [lo, hi] = extent(data.map((p) => p[1]));
    const pad = hi > lo ? (hi - lo) * 0.05 : Math.abs(lo) * 0.05 || 1;
    // Values that are all ≥ 0 (losses, accuracies) keep the axis from dipping below 0, unless flat (then centred).
    yTicks = niceTicks(lo >= 0 && hi > lo ? Math.max(0, lo - pad) : lo - pad, hi + pad, maxY);
    [yMin, yMax] = [yTicks[0], yTicks[yTicks.length - 1]];
  }

  const labelWidth = Math.max(0, ...yTicks.map((t) => textWidth(formatTick(t), SMALL)));
  const left = MARGIN + labelWidth + TICK_GAP + TICK;
  const right = width - 1 - 24;
  let [xMin, xMax] = [0, 1];
  let xTicks: number[] = [];
  if (!empty) {
    [xMin, xMax] = extent(all.map((p) => p[0]).filter(Number.isFinite));
    if (xMin === xMax) {
      const pad = Math.abs(xMin) * 0.05 || 1;
      [xMin, xMax] = [xMin - pad, xMax + pad];
    }
    const maxX = Math.max(3, Math.floor((right - left) / X_TICK_SPACING));
    xTicks = innerTicks(xMin, xMax, maxX);
  }
  return { width, height, left, top, right, bottom, xMin, xMax, yMin, yMax, xTicks, yTicks, empty };
}

/** Where the plot area lies in a chart of these options, and the data→pixel mapping (exported so tests can check pixels independently). */
export function chartFrame(o: LineChartOptions): ChartFrame {
  const { left, top, right, bottom, xMin, xMax, yMin, yMax } = layout(o);
  return { left, top, right, bottom, xMin, xMax, yMin, yMax };
}

function hLine(r: Raster, x0: number, x1: number, y: number, colour: Rgb): void {
  for (let x = x0; x <= x1; x++) setPixel(r, x, y, colour);
}

function vLine(r: Raster, x: number, y0: number, y1: number, colour: Rgb): void {
  for (let y = y0; y <= y1; y++) setPixel(r, x, y, colour);
}

function fillRect(r: Raster, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  for (let y = y0; y <= y1; y++) hLine(r, x0, x1, y, colour);
}

/** Draws `text` centred on x, clamped so that it stays inside the raster. */
function centredText(r: Raster, cx: number, y: number, text: string, scale: number, colour: Rgb): void {
  const w = textWidth(text, scale);
  drawText(r, Math.max(0, Math.min(r.width - w, Math.round(cx - w / 2))), y, text, scale, colour);
}

/** Clips segment (x0, y0)–(x1, y1) to the box (Liang–Barsky); the parameters [t0, t1] of the part inside, or undefined. */
function clip(x0: number, y0: number, x1: number, y1: number, f: ChartFrame): [number, number] | undefined {
  let [t0, t1] = [0, 1];
  const [dx, dy] = [x1 - x0, y1 - y0];
  for (const [p, q] of [[-dx, x0 - f.left], [dx, f.right - x0], [-dy, y0 - f.top], [dy, f.bottom - y0]]) {
    if (p === 0) {
      if (q < 0) return undefined;
    } else if (p < 0) t0 = Math.max(t0, q / p);
    else t1 = Math.min(t1, q / p);
  }
  return t0 <= t1 ? [t0, t1] : undefined;
}

/** Draws one series' polyline (2 pixels thick, clipped to the plot area) and a dot for each point with no neighbour to join. */
function drawSeries(r: Raster, s: Series, colour: Rgb, f: ChartFrame): void {
  const px = (x: number) => f.left + ((x - f.xMin) / (f.xMax - f.xMin)) * (f.right - f.left);
  const py = (y: number) => f.bottom - ((y - f.yMin) / (f.yMax - f.yMin)) * (f.bottom - f.top);
  const plot = (x: number, y: number) => {
    if (x >= f.left && x <= f.right && y >= f.top && y <= f.bottom) setPixel(r, x, y, colour);
  };
  const brush = (x: number, y: number) => {
    const [bx, by] = [Math.floor(x - 0.5), Math.floor(y - 0.5)];
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) plot(bx + dx, by + dy);
  };
  let travelled = 0; // along the whole line, for the dash pattern
  s.points.forEach((p, i) => {
    if (!finitePoint(p)) return;
    const before = s.points[i - 1];
    const after = s.points[i + 1];
    const [x1, y1] = [px(p[0]), py(p[1])];
    if (!finitePoint(before)) {
      if (!finitePoint(after)) {
        const [cx, cy] = [Math.round(x1), Math.round(y1)];
        const h = (DOT - 1) / 2;
        for (let y = cy - h; y <= cy + h; y++) for (let x = cx - h; x <= cx + h; x++) plot(x, y);
      }
      return;
    }
    const [x0, y0] = [px(before[0]), py(before[1])];
    const length = Math.hypot(x1 - x0, y1 - y0);
    const part = clip(x0, y0, x1, y1, f);
    if (part) {
      const n = Math.ceil(length * (part[1] - part[0])) + 1;
      for (let k = 0; k <= n; k++) {
        const t = part[0] + ((part[1] - part[0]) * k) / n;
        if (s.dashed && (travelled + t * length) % DASH_PERIOD >= DASH_ON) continue;
        brush(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
      }
    }
    travelled += length;
  });
}

/** Gridlines at the ticks, inside the plot area. */
function drawGrid(r: Raster, l: Layout, px: (x: number) => number, py: (y: number) => number): void {
  for (const t of l.yTicks) hLine(r, l.left + 1, l.right, Math.round(py(t)), GRID);
  for (const t of l.xTicks) vLine(r, Math.round(px(t)), l.top, l.bottom - 1, GRID);
}

/** The axis lines on the left and bottom, tick marks outside them, and tick labels. */
function drawAxes(r: Raster, l: Layout, px: (x: number) => number, py: (y: number) => number): void {
  vLine(r, l.left, l.top, l.bottom, AXIS);
  hLine(r, l.left, l.right, l.bottom, AXIS);
  for (const t of l.yTicks) {
    const y = Math.round(py(t));
    hLine(r, l.left - TICK, l.left - 1, y, AXIS);
    const label = formatTick(t);
    drawText(r, l.left - TICK - TICK_GAP - textWidth(label, SMALL), y - Math.floor(TEXT_H / 2), label, SMALL, INK);
  }
  for (const t of l.xTicks) {
    const x = Math.round(px(t));
    vLine(r, x, l.bottom + 1, l.bottom + TICK, AXIS);
    centredText(r, x, l.bottom + TICK + TICK_GAP, formatTick(t), SMALL, INK);
  }
}

/** A boxed legend in the top-right corner of the plot area: a swatch line and the name per series. */
function drawLegend(r: Raster, l: Layout, series: Series[], colours: Rgb[]): void {
  const pad = 6;
  const row = TEXT_H + 6;
  const names = series.map((s) => s.name);
  const w = pad + SWATCH + pad + Math.max(0, ...names.map((n) => textWidth(n, SMALL))) + pad;
  const h = pad + series.length * row - 6 + pad;
  const [x0, y0] = [l.right - 8 - w, l.top + 8];
  fillRect(r, x0, y0, x0 + w, y0 + h, WHITE);
  hLine(r, x0, x0 + w, y0, BORDER);
  hLine(r, x0, x0 + w, y0 + h, BORDER);
  vLine(r, x0, y0, y0 + h, BORDER);
  vLine(r, x0 + w, y0, y0 + h, BORDER);
  series.forEach((s, i) => {
    const y = y0 + pad + i * row;
    for (let k = 0; k < SWATCH; k++) {
      if (s.dashed && k % DASH_PERIOD >= DASH_ON) continue;
      for (const dy of [TEXT_H / 2 - 1, TEXT_H / 2]) setPixel(r, x0 + pad + k, y + dy, colours[i]);
    }
    drawText(r, x0 + pad + SWATCH + pad, y, s.name, SMALL, INK);
  });
}

/** An RGB raster (channels 3) of the chart. */
export function lineChart(o: LineChartOptions): Raster {
  const l = layout(o);
  const r: Raster = { width: l.width, height: l.height, channels: 3, pixels: new Uint8Array(l.width * l.height * 3).fill(255) };
  const px = (x: number) => l.left + ((x - l.xMin) / (l.xMax - l.xMin)) * (l.right - l.left);
  const py = (y: number) => l.bottom - ((y - l.yMin) / (l.yMax - l.yMin)) * (l.bottom - l.top);
  const colours = o.series.map((s, i) => s.colour ?? PALETTE[i % PALETTE.length]);
  drawGrid(r, l, px, py);
  if (!l.empty) o.series.forEach((s, i) => drawSeries(r, s, colours[i], l));
  drawAxes(r, l, px, py);
  if (l.empty) centredText(r, (l.left + l.right) / 2, Math.round((l.top + l.bottom) / 2 - (GLYPH_HEIGHT * LARGE) / 2), 'NO DATA', LARGE, INK);
  else drawLegend(r, l, o.series, colours);
  centredText(r, l.width / 2, MARGIN, o.title, LARGE, INK);
  drawText(r, MARGIN, l.top - Y_LABEL_GAP - TEXT_H, o.yLabel, SMALL, INK);
  centredText(r, (l.left + l.right) / 2, l.height - 1 - MARGIN - TEXT_H + 1, o.xLabel, SMALL, INK);
  return r;
}
