import { describe, expect, it } from 'vitest';
import { epochPermutation, hashInts, hashPair, hashPrefix, Rng, uniformAt } from '../src/util/rng.js';
import { BatchSchedule, planSteps, shardBounds } from '../src/data/sharding.js';

describe('seeded randomness', () => {
  it('epoch permutations are permutations, reproducible, and differ by epoch', () => {
    const p = epochPermutation(42, 0, 1000);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(epochPermutation(42, 0, 1000))).toEqual(Array.from(p));
    expect(Array.from(epochPermutation(42, 1, 1000))).not.toEqual(Array.from(p));
  });
  it('hash draws are uniform enough', () => {
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) sum += uniformAt(7, i);
    expect(sum / n).toBeGreaterThan(0.49);
    expect(sum / n).toBeLessThan(0.51);
    expect(hashInts(1, 2)).not.toBe(hashInts(2, 1));
    expect(hashInts(1, 2 ** 33)).not.toBe(hashInts(1, 2 ** 34));
  });
  it('hashPair(hashPrefix(a), b) is hashInts(a, b) bit for bit over the 32-bit range (dropout masks draw with it)', () => {
    const r = new Rng(3);
    const edges = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
    const pairs: [number, number][] = [...edges.flatMap((a) => edges.map((b): [number, number] => [a, b]))];
    for (let i = 0; i < 20_000; i++) pairs.push([Math.floor(r.next() * 2 ** 32), Math.floor(r.next() * 2 ** 20)]);
    for (const [a, b] of pairs) expect(hashPair(hashPrefix(a), b)).toBe(hashInts(a, b));
    // The comparison can fail: another second key is another draw.
    expect(hashPair(hashPrefix(5), 6)).not.toBe(hashInts(5, 7));
  });

  it('normal draws have mean 0 and variance 1', () => {
    const r = new Rng(9);
    let s = 0;
    let s2 = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
  });
});

describe('sharding', () => {
  it('shards cover the batch exactly, sizes differing by at most one', () => {
    for (const [len, size] of [[50, 3], [7, 7], [64, 2], [5, 4]]) {
      const parts = Array.from({ length: size }, (_, r) => shardBounds(len, r, size));
      expect(parts[0][0]).toBe(0);
      expect(parts[size - 1][1]).toBe(len);
      for (let r = 1; r < size; r++) expect(parts[r][0]).toBe(parts[r - 1][1]);
      const sizes = parts.map(([a, b]) => b - a);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
  it('plans steps with a short last batch, and maxSteps caps the run', () => {
    expect(planSteps(620, 50, 2)).toEqual({ stepsPerEpoch: 13, totalSteps: 26 });
    expect(planSteps(620, 50, 2, 20)).toEqual({ stepsPerEpoch: 13, totalSteps: 20 });
    const s = new BatchSchedule(1, 620, 50, planSteps(620, 50, 2));
    expect(s.batch(12).length).toBe(20);
    const seen = new Set<number>();
    for (let i = 0; i < 13; i++) s.batch(i).forEach((v) => seen.add(v));
    expect(seen.size).toBe(620);
    expect(s.epochOf(13)).toBe(1);
  });
});
