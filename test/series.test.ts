/** Curves kept for drawing: bounded at MAX_POINTS by dropping every other point, the shape and the last point kept. */
import { describe, expect, it } from 'vitest';
import { bounded, MAX_POINTS } from '../src/observe/series.js';
import { JobView } from '../src/observe/job-view.js';

describe('bounded curves', () => {
  it('keeps a list up to MAX_POINTS as it is, and halves one past it, keeping the odd points and the last', () => {
    const full = Array.from({ length: MAX_POINTS }, (_, i) => i);
    expect(bounded(full)).toBe(full);
    const over = Array.from({ length: MAX_POINTS + 1 }, (_, i) => i);
    const halved = bounded(over);
    expect(halved.length).toBe(MAX_POINTS / 2 + 1);
    expect(halved.slice(0, 3)).toEqual([1, 3, 5]);
    expect(halved[halved.length - 1]).toBe(MAX_POINTS);
  });

  it('the dashboard\'s series of a long run stay within MAX_POINTS and end at the latest step', () => {
    const view = new JobView('j1', 'long', 'supervised', '/nonexistent');
    for (let step = 1; step <= 3 * MAX_POINTS; step++) view.log({ loss: 1 / step }, step);
    const train = (view as unknown as { series: Record<string, { step: number }[]> }).series.train;
    expect(train.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(train.length).toBeGreaterThan(MAX_POINTS / 2);
    expect(train[train.length - 1].step).toBe(3 * MAX_POINTS);
  });
});
