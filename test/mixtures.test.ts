/** The 2-D mixtures for GANs and their mode-coverage measures, against direct computation. */
import { describe, expect, it } from 'vitest';
import { makeMixture, mixtureModes, modeCoverage } from '../src/data/mixtures.js';
import { makeSynthetic } from '../src/data/synthetic.js';

describe('2-D mixtures', () => {
  it('ring8: 8 modes on a circle of radius 2; grid25: a 5×5 grid from −4 to 4', () => {
    const ring = mixtureModes('ring8');
    expect(ring.length).toBe(16);
    for (let m = 0; m < 8; m++) expect(Math.hypot(ring[2 * m], ring[2 * m + 1])).toBeCloseTo(2, 6);
    const grid = mixtureModes('grid25');
    const points = new Set(Array.from({ length: 25 }, (_, m) => `${grid[2 * m]},${grid[2 * m + 1]}`));
    expect(points.size).toBe(25);
    for (const v of grid) expect([-4, -2, 0, 2, 4]).toContain(v);
  });

  it('samples sit at their mode within the noise, and the same seed draws the same data', () => {
    const d = makeSynthetic({ kind: 'ring8', samples: 4000, features: 2, classes: 8 }, 3);
    expect(d.train.classes).toBe(8);
    const modes = mixtureModes('ring8');
    let sq = 0;
    for (let i = 0; i < d.train.size; i++) {
      const m = d.train.y[i];
      sq += (d.train.x[2 * i] - modes[2 * m]) ** 2 + (d.train.x[2 * i + 1] - modes[2 * m + 1]) ** 2;
    }
    // E|x − μ|² = 2σ² with σ = 0.02 by default.
    expect(Math.sqrt(sq / d.train.size / 2)).toBeCloseTo(0.02, 2);
    expect(Array.from(makeSynthetic({ kind: 'ring8', samples: 4000, features: 2, classes: 8 }, 3).train.x)).toEqual(Array.from(d.train.x));
  });

  it('real data covers every mode with ~99.7% high-quality samples; a collapsed generator covers one', () => {
    const real = makeMixture('grid25', 5000, 0.05, 1).train;
    const c = modeCoverage('grid25', 0.05, real.x as Float32Array);
    expect(c.modesCovered).toBe(25);
    expect(c.highQuality).toBeGreaterThan(0.98);
    const collapsed = Float32Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 2.01 : 0));
    expect(modeCoverage('ring8', 0.02, collapsed)).toEqual({ modesCovered: 1, modes: 8, highQuality: 1 });
    // Far from every mode: nothing counts.
    expect(modeCoverage('ring8', 0.02, Float32Array.from([0, 0, 1, 1]))).toEqual({ modesCovered: 0, modes: 8, highQuality: 0 });
  });

  it('a mode counts only with at least 1% of the samples', () => {
    // 199 samples at mode 0 (2, 0), one at mode 2 (0, 2): 0.5% there.
    const pts = new Float32Array(400);
    for (let i = 0; i < 199; i++) pts[2 * i] = 2;
    pts[398] = 0;
    pts[399] = 2;
    expect(modeCoverage('ring8', 0.02, pts).modesCovered).toBe(1);
  });
});
