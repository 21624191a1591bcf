/** Where a step's time went (coordinator/metrics.ts stepTimes), from the workers' reports. */
import { describe, expect, it } from 'vitest';
import { stepTimes } from '../src/coordinator/metrics.js';

describe('stepTimes', () => {
  it("takes the slowest worker's compute and collective times, and the spread of compute", () => {
    expect(stepTimes([{ computeMs: 6.5, commMs: 8 }, { computeMs: 5, commMs: 9.5 }, { computeMs: 7, commMs: 7 }])).toEqual({ computeMs: 7, commMs: 9.5, spreadMs: 2 });
  });

  it('one worker: nothing to wait for', () => {
    expect(stepTimes([{ computeMs: 8, commMs: 3.5 }])).toEqual({ computeMs: 8, commMs: 3.5, spreadMs: 0 });
  });
});
