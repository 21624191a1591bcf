/**
 * The shared epoch loop's kept state: a supervised checkpoint written
 * before the loop was shared kept its metrics window as {loss, correct,
 * absError, metrics, count}; resuming from it reads the same sums, so the
 * resumed run logs the figures an undisturbed one does.
 */
import { describe, expect, it } from 'vitest';
import { testResult, windowSums } from '../src/jobs/supervised/coordinator.js';

describe('a supervised checkpoint\'s metrics window', () => {
  it('in the old layout becomes the same sums (and the same logged figures); in the new one stays as it is', () => {
    const old = { loss: 12.5, correct: 40, count: 50, metrics: { 'metric.top3': 47 } };
    const sums = windowSums(old);
    expect(sums).toEqual({ lossSum: 12.5, count: 50, counts: { correct: 40, absError: 0, 'metric.top3': 47 } });
    expect(testResult(sums)).toEqual({ loss: 0.25, accuracy: 0.8, top3: 0.94 });
    const regression = windowSums({ loss: 3, correct: 0, absError: 6, count: 4 });
    expect(testResult(regression, 'values')).toEqual({ loss: 0.75, meanAbsoluteError: 1.5 });
    const current = { lossSum: 1, count: 2, counts: { correct: 1 } };
    expect(windowSums(current)).toBe(current);
  });
});
