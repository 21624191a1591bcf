/** The line-chart renderer, checked pixel by pixel against positions computed here from the chart's frame. */
import { describe, expect, it } from 'vitest';
import { chartFrame, formatTick, lineChart, niceTicks, PALETTE, type LineChartOptions } from '../src/image/line-chart.js';
import { encodePng, type Raster } from '../src/image/png.js';
import { readPng } from './helpers/png-read.js';

type Rgb = [number, number, number];

const rgb = (r: Raster, x: number, y: number): Rgb => {
  const at = (y * r.width + x) * 3;
  return [r.pixels[at], r.pixels[at + 1], r.pixels[at + 2]];
};
const same = (a: Rgb, b: readonly number[]) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** Data → pixel, from the frame's bounds alone. */
function mapper(o: LineChartOptions) {
  const f = chartFrame(o);
  return {
    f,
    x: (x: number) => f.left + ((x - f.xMin) / (f.xMax - f.xMin)) * (f.right - f.left),
    y: (y: number) => f.bottom - ((y - f.yMin) / (f.yMax - f.yMin)) * (f.bottom - f.top),
  };
}

/** Whether `colour` is at (x, y) or one of its eight neighbours. */
function near(r: Raster, x: number, y: number, colour: readonly number[]): boolean {
  const [cx, cy] = [Math.round(x), Math.round(y)];
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (same(rgb(r, cx + dx, cy + dy), colour)) return true;
  return false;
}

/** How many pixels in [x0, x1] × [y0, y1] satisfy `test`. */
function count(r: Raster, x0: number, y0: number, x1: number, y1: number, test: (c: Rgb) => boolean): number {
  let n = 0;
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (test(rgb(r, x, y))) n++;
  return n;
}

const dark = (c: Rgb) => Math.max(...c) < 100;
const base = { title: 'loss', xLabel: 'step', yLabel: 'loss' };

describe('niceTicks', () => {
  const cases: [number, number, number][] = [
    [0, 1, 6], [0, 1, 5], [0.1, 0.3, 3], [-3.7, 12.2, 7], [0, 14750, 8], [997, 1003, 5], [-0.004, 0.0031, 4], [1e6, 1.5e6, 6],
    [5, 5, 5], [0, 0, 3], [2.5e-7, 9.1e-7, 10], [-250, -10, 4], [0.001, 2.3, 8],
  ];
  for (const [lo, hi, max] of cases) {
    it(`[${lo}, ${hi}] in at most ${max}: a 1/2/5 × 10^k step, ascending, covering, as fine as allowed`, () => {
      const t = niceTicks(lo, hi, max);
      expect(t.length).toBeGreaterThanOrEqual(1);
      expect(t.length).toBeLessThanOrEqual(max);
      const step = t.length > 1 ? t[1] - t[0] : undefined;
      if (step !== undefined) {
        const k = Math.floor(Math.log10(step) + 1e-9);
        const mantissa = step / 10 ** k;
        expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
        t.forEach((v, i) => {
          expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-6);
          if (i > 0) expect(Math.abs(v - t[i - 1] - step)).toBeLessThan(step * 1e-6);
        });
        // No finer nice step would have covered the range in max ticks.
        const finer = [1, 2, 5].map((m) => m * 10 ** k).concat([5 * 10 ** (k - 1)]).filter((s) => s < step * (1 - 1e-9));
        for (const s of finer) expect(Math.ceil(hi / s - 1e-9) - Math.floor(lo / s + 1e-9) + 1).toBeGreaterThan(max);
      }
      const tol = (step ?? 1) * 1e-6;
      expect(t[0]).toBeLessThanOrEqual(lo + tol);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(hi - tol);
    });
  }

  it('gives decimal values without float noise', () => {
    expect(niceTicks(0, 1, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.1, 0.3, 3)).toEqual([0.1, 0.2, 0.3]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.5, 1]);
    expect(niceTicks(0.001, 2.3, 8)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });

  it('rejects an empty or reversed range and too few ticks', () => {
    expect(() => niceTicks(2, 1, 5)).toThrow(RangeError);
    expect(() => niceTicks(NaN, 1, 5)).toThrow(/finite range/);
    expect(() => niceTicks(0, Infinity, 5)).toThrow(/finite range/);
    expect(() => niceTicks(0, 1, 2)).toThrow(/maxTicks/);
    expect(() => niceTicks(0, 1, 4.5)).toThrow(/maxTicks/);
  });
});

describe('formatTick', () => {
  it('writes ticks compactly, with K/M/B and no float noise', () => {
    const cases: [number, string][] = [
      [0, '0'], [0.25, '0.25'], [0.5, '0.5'], [0.1 + 0.2, '0.3'], [-0.5, '-0.5'], [999, '999'], [1000, '1K'], [1200, '1.2K'],
      [15000, '15K'], [1250, '1.25K'], [1.5e6, '1.5M'], [2e9, '2B'], [-2500, '-2.5K'], [3 * 0.1, '0.3'],
    ];
    for (const [v, s] of cases) expect(formatTick(v), String(v)).toBe(s);
  });
});

describe('chartFrame', () => {
  it('spans the x values exactly and pads the y values by at least 5%, out to nice bounds', () => {
    const o = { ...base, series: [{ name: 'a', points: [[10, -2], [30, 5], [50, 1]] as [number, number][] }, { name: 'b', points: [[20, NaN], [70, 3]] as [number, number][] }] };
    const f = chartFrame(o);
    expect([f.xMin, f.xMax]).toEqual([10, 70]);
    expect(f.yMin).toBeLessThanOrEqual(-2 - 0.05 * 7);
    expect(f.yMax).toBeGreaterThanOrEqual(5 + 0.05 * 7);
    expect(f.yMax - f.yMin).toBeLessThan(3 * 7); // padded, not blown up
    // The bounds are ticks: multiples of a 1/2/5 step that divides the span.
    const ticks = niceTicks(f.yMin, f.yMax, 20);
    expect(ticks[0]).toBe(f.yMin);
    expect(ticks[ticks.length - 1]).toBe(f.yMax);
    // All negative, so no clamp at 0: 5% of 9.2 takes the range past −10 and 0, which 1% would not.
    const g = chartFrame({ ...base, series: [{ name: 'n', points: [[0, -9.6], [1, -0.4]] }] });
    expect(g.yMin).toBeLessThanOrEqual(-9.6 - 0.05 * 9.2);
    expect(g.yMax).toBeGreaterThanOrEqual(-0.4 + 0.05 * 9.2);
    expect(0 < f.left && f.left < f.right && f.right < 720 && 0 < f.top && f.top < f.bottom && f.bottom < 440).toBe(true);
  });

  it('keeps an all-non-negative series from dipping below 0', () => {
    const f = chartFrame({ ...base, series: [{ name: 'loss', points: [[0, 0.01], [1, 2.3]] }] });
    expect(f.yMin).toBe(0);
  });

  it('uses yRange as given, and gives a single x and a flat series a non-zero range around them', () => {
    expect(chartFrame({ ...base, yRange: [0, 1], series: [{ name: 'acc', points: [[0, 0.2], [1, 0.9]] }] })).toMatchObject({ yMin: 0, yMax: 1 });
    const f = chartFrame({ ...base, series: [{ name: 'one', points: [[100, 4]] }] });
    expect(f.xMin).toBeLessThan(100);
    expect(f.xMax).toBeGreaterThan(100);
    expect(f.yMin).toBeLessThan(4);
    expect(f.yMax).toBeGreaterThan(4);
    const zero = chartFrame({ ...base, series: [{ name: 'flat', points: [[0, 0], [5, 0]] }] });
    expect(zero.yMin).toBeLessThan(0);
    expect(zero.yMax).toBeGreaterThan(0);
  });

  it('follows width and height', () => {
    const f = chartFrame({ ...base, width: 300, height: 200, series: [{ name: 'a', points: [[0, 0], [1, 1]] }] });
    expect(f.right).toBeLessThan(300);
    expect(f.bottom).toBeLessThan(200);
    expect(f.right - f.left).toBeGreaterThan(100);
    expect(f.bottom - f.top).toBeGreaterThan(50);
  });
});

describe('lineChart', () => {
  it('is a 720×440 RGB raster by default, on white, with a dark axis line left and bottom', () => {
    const o = { ...base, series: [{ name: 'a', points: [[0, 1], [10, 2]] as [number, number][] }] };
    const r = lineChart(o);
    expect([r.width, r.height, r.channels, r.pixels.length]).toEqual([720, 440, 3, 720 * 440 * 3]);
    const { f } = mapper(o);
    expect(rgb(r, 0, 0)).toEqual([255, 255, 255]);
    expect(dark(rgb(r, f.left, Math.round((f.top + f.bottom) / 2)))).toBe(true);
    expect(dark(rgb(r, Math.round((f.left + f.right) / 2), f.bottom))).toBe(true);
    // Text: the title above the plot, tick labels left of the y axis and below the x axis.
    expect(count(r, 0, 0, 719, f.top - 20, dark)).toBeGreaterThan(20);
    expect(count(r, 0, f.top, f.left - 6, f.bottom, dark)).toBeGreaterThan(20);
    expect(count(r, f.left, f.bottom + 6, f.right, f.bottom + 30, dark)).toBeGreaterThan(20);
    // Gridlines: light grey across the plot, at more than one height.
    const greyRows = new Set<number>();
    for (let y = f.top; y < f.bottom; y++) if (same(rgb(r, f.left + 3, y), [225, 225, 225])) greyRows.add(y);
    expect(greyRows.size).toBeGreaterThan(1);
  });

  it('draws a series through its points, in its colour, and not elsewhere', () => {
    const colour: Rgb = [200, 30, 120];
    const o = { ...base, series: [{ name: 'a', colour, points: [[0, 1], [10, 3], [20, 2], [40, 2.5]] as [number, number][] }] };
    const r = lineChart(o);
    const m = mapper(o);
    for (const [x, y] of [[5, 2], [15, 2.5], [30, 2.25], [2.5, 1.5], [10, 3]]) expect(near(r, m.x(x), m.y(y), colour), `(${x}, ${y})`).toBe(true);
    expect(near(r, m.x(5), m.y(1.2), colour)).toBe(false);
    expect(near(r, m.x(30), m.y(1.5), colour)).toBe(false);
    // Two pixels thick along a horizontal stretch.
    const flat = lineChart({ ...base, series: [{ name: 'h', colour, points: [[0, 0], [10, 0]] }] });
    const h = mapper({ ...base, series: [{ name: 'h', points: [[0, 0], [10, 0]] }] });
    const x = Math.round(h.x(5));
    expect(count(flat, x, 0, x, 439, (c) => same(c, colour))).toBe(2);
  });

  it('gives two series the first two palette colours, each on its own line', () => {
    const o = { ...base, series: [{ name: 'train', points: [[0, 0], [10, 1]] as [number, number][] }, { name: 'eval', points: [[0, 1], [10, 0]] as [number, number][] }] };
    const r = lineChart(o);
    const m = mapper(o);
    expect(PALETTE[0]).not.toEqual(PALETTE[1]);
    expect(near(r, m.x(2), m.y(0.2), PALETTE[0])).toBe(true);
    expect(near(r, m.x(2), m.y(0.8), PALETTE[1])).toBe(true);
    expect(near(r, m.x(2), m.y(0.2), PALETTE[1])).toBe(false);
  });

  it('breaks the line at a NaN, and draws a lone point as a dot', () => {
    const o = {
      ...base,
      series: [
        { name: 'a', points: [[0, 0], [1, 0], [2, NaN], [3, 0], [4, 0]] as [number, number][] },
        { name: 'b', points: [[2, 0.5]] as [number, number][] },
        { name: 'c', points: [[0, -0.5], [1, NaN], [2, -0.5], [3, Infinity]] as [number, number][] },
      ],
    };
    const r = lineChart(o);
    const m = mapper(o);
    expect(near(r, m.x(0.5), m.y(0), PALETTE[0])).toBe(true);
    expect(near(r, m.x(3.5), m.y(0), PALETTE[0])).toBe(true);
    expect(near(r, m.x(2), m.y(0), PALETTE[0])).toBe(false);
    expect(near(r, m.x(1.6), m.y(0), PALETTE[0])).toBe(false);
    const [dx, dy] = [Math.round(m.x(2)), Math.round(m.y(0.5))];
    expect(count(r, dx - 3, dy - 3, dx + 3, dy + 3, (c) => same(c, PALETTE[1]))).toBeGreaterThanOrEqual(9);
    // A point between two gaps is a dot too, and nothing joins it to its neighbours.
    const [ex, ey] = [Math.round(m.x(2)), Math.round(m.y(-0.5))];
    expect(count(r, ex - 3, ey - 3, ex + 3, ey + 3, (c) => same(c, PALETTE[2]))).toBeGreaterThanOrEqual(9);
    expect(near(r, m.x(1), m.y(-0.5), PALETTE[2])).toBe(false);
  });

  it('draws a dashed series with gaps along it', () => {
    const colour: Rgb = [10, 200, 90];
    const o = { ...base, series: [{ name: 'd', colour, dashed: true, points: [[0, 0], [10, 0]] as [number, number][] }] };
    const r = lineChart(o);
    const m = mapper(o);
    const y = Math.round(m.y(0));
    let [on, off] = [0, 0];
    for (let x = Math.round(m.x(1)); x <= Math.round(m.x(9)); x++) {
      if (count(r, x, y - 1, x, y + 1, (c) => same(c, colour)) > 0) on++;
      else off++;
    }
    expect(on).toBeGreaterThan(0.3 * (on + off));
    expect(off).toBeGreaterThan(0.2 * (on + off));
  });

  it('clips lines to the plot area', () => {
    const colour: Rgb = [250, 0, 250];
    const o = { ...base, yRange: [0, 1] as [number, number], series: [{ name: 'a', colour, points: [[0, -5], [5, 0.5], [10, 9], [11, 1e12]] as [number, number][] }] };
    const r = lineChart(o);
    const { f, x, y } = mapper(o);
    const isIt = (c: Rgb) => same(c, colour);
    const all = count(r, 0, 0, r.width - 1, r.height - 1, isIt);
    const inside = count(r, f.left, f.top, f.right, f.bottom, isIt);
    expect(inside).toBeGreaterThan(50);
    // The legend swatch is the only other place the colour may be, and it lies inside the plot area too.
    expect(all).toBe(inside);
    expect(near(r, x(5), y(0.5), colour)).toBe(true);
  });

  it('has a legend in the top-right of the plot area with each series swatch on white', () => {
    const colours: Rgb[] = [[0, 0, 200], [200, 0, 0]];
    const o = {
      ...base,
      yRange: [0, 10] as [number, number],
      series: [{ name: 'train loss', colour: colours[0], points: [[0, 1], [5, 0.5]] as [number, number][] }, { name: 'eval loss', colour: colours[1], points: [[0, 1.5], [5, 1]] as [number, number][] }],
    };
    const r = lineChart(o);
    const { f } = mapper(o);
    // The data stay in the bottom fifth; the top-right corner holds only the legend.
    const box = [f.right - 220, f.top, f.right, f.top + 70] as const;
    for (const c of colours) expect(count(r, ...box, (p) => same(p, c))).toBeGreaterThan(10);
    expect(count(r, ...box, dark)).toBeGreaterThan(40); // the names
    expect(count(r, ...box, (p) => same(p, [255, 255, 255]))).toBeGreaterThan(1000);
    // Without series in it, that corner has no series colour.
    const none = lineChart({ ...o, series: [{ ...o.series[0], name: '' }] });
    expect(count(none, f.right - 100, f.top, f.right, f.top + 70, (p) => same(p, colours[1]))).toBe(0);
  });

  it('writes NO DATA in the frame when there is nothing finite to draw', () => {
    for (const series of [[], [{ name: 'nan', points: [[0, NaN], [NaN, 1]] as [number, number][] }]]) {
      const o = { ...base, series };
      const r = lineChart(o);
      const { f } = mapper(o);
      const [cx, cy] = [Math.round((f.left + f.right) / 2), Math.round((f.top + f.bottom) / 2)];
      expect(count(r, cx - 70, cy - 12, cx + 70, cy + 12, dark)).toBeGreaterThan(50);
      expect(dark(rgb(r, f.left, cy + 40))).toBe(true);
      expect(dark(rgb(r, cx + 100, f.bottom))).toBe(true);
    }
    // With data, the centre of this chart is clear of text.
    const o = { ...base, series: [{ name: 'a', points: [[0, 0], [1, 0]] as [number, number][] }] };
    const r = lineChart(o);
    const { f } = mapper(o);
    const [cx, cy] = [Math.round((f.left + f.right) / 2), Math.round((f.top + f.bottom) / 2)];
    expect(count(r, cx - 70, cy - 30, cx + 70, cy - 6, dark)).toBe(0);
  });

  it('survives a PNG round trip at its size', () => {
    const r = lineChart({ ...base, width: 333, height: 222, series: [{ name: 'a', points: [[0, 3], [1, 2], [2, 2.5]] }] });
    const png = readPng(encodePng(r));
    expect([png.width, png.height, png.channels]).toEqual([333, 222, 3]);
    expect(Buffer.from(png.pixels).equals(Buffer.from(r.pixels))).toBe(true);
  });

  it('rejects sizes too small to read, and a bad yRange', () => {
    const series = [{ name: 'a', points: [[0, 0], [1, 1]] as [number, number][] }];
    expect(() => lineChart({ ...base, series, width: 199 })).toThrow(/width of at least 200/);
    expect(() => lineChart({ ...base, series, height: 149 })).toThrow(/height of at least 150/);
    expect(() => chartFrame({ ...base, series, width: 250.5 })).toThrow(RangeError);
    expect(() => lineChart({ ...base, series, yRange: [1, 0] })).toThrow(/yRange/);
    expect([lineChart({ ...base, series, width: 200, height: 150 }).width]).toEqual([200]);
  });
});
