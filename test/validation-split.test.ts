/**
 * data.validation: the held-out validation split is drawn by the seed, the
 * same in every process; with what stays for training it makes the
 * training set again, sample for sample; a data module's reader maps its
 * indices the same way; too small a set is a clear error.
 */
import { describe, expect, it } from 'vitest';
import { gather, type Dataset, type SampleReader } from '../src/data/dataset.js';
import { withValidation } from '../src/data/validation.js';

const ds = (n: number): Dataset => ({ size: n, featureShape: [2], classes: 3, x: Uint8Array.from({ length: 2 * n }, (_, i) => i % 251), scale: 1 / 255, y: Int32Array.from({ length: n }, (_, i) => i % 3) });

describe('data.validation', () => {
  it('holds out round(n·fraction) training samples by the seed; the parts make the training set again', () => {
    const train = ds(1000);
    const split = withValidation({ train, test: ds(10) }, 0.2, 7);
    const v = split.validation as Dataset;
    const t = split.train as Dataset;
    expect([t.size, v.size]).toEqual([800, 200]);
    expect(v.x).toBeInstanceOf(Uint8Array); // stored as it was
    // Every original sample is in exactly one part: match rows by their content plus label, counted.
    const key = (d: Dataset, i: number) => `${d.x[2 * i]},${d.x[2 * i + 1]},${d.y[i]}`;
    const count = (d: Dataset) => {
      const m = new Map<string, number>();
      for (let i = 0; i < d.size; i++) m.set(key(d, i), (m.get(key(d, i)) ?? 0) + 1);
      return m;
    };
    const whole = count(train);
    const parts = count(t);
    for (const [k, c] of count(v)) parts.set(k, (parts.get(k) ?? 0) + c);
    expect(parts).toEqual(whole);
    // The same seed draws the same split; another seed another one.
    expect((withValidation({ train, test: ds(10) }, 0.2, 7).validation as Dataset).x).toEqual(v.x);
    expect((withValidation({ train, test: ds(10) }, 0.2, 8).validation as Dataset).x).not.toEqual(v.x);
    // gather reads the parts as the training set's samples.
    expect(gather(v, [0]).x[0]).toBeCloseTo(v.x[0] / 255, 6);
  });

  it("a data module's reader: the validation part reads the training reader's samples at the held-out indices", async () => {
    const seen: number[][] = [];
    const reader: SampleReader = {
      size: 50,
      featureShape: [1],
      classes: 2,
      read: async (indices) => {
        seen.push([...indices]);
        return { x: Float32Array.from(indices), y: Int32Array.from(indices, (i) => i % 2) };
      },
    };
    const inMemory = withValidation({ train: ds(50), test: ds(5) }, 0.1, 3);
    const split = withValidation({ train: reader, test: reader }, 0.1, 3);
    const v = split.validation as SampleReader;
    expect(v.size).toBe(5);
    const b = await v.read(Int32Array.from([0, 4]));
    // The same draw as in memory, whatever the source: ds(50) stores 2i as sample i's first feature.
    const held = inMemory.validation as Dataset;
    const heldIndices = [held.x[0] / 2, held.x[8] / 2];
    expect(seen.at(-1)).toEqual(heldIndices);
    expect([...b.x]).toEqual(heldIndices);
    await expect(v.read(Int32Array.from([5]))).rejects.toThrow(/outside \[0, 5\)/);
  });

  it('too few samples for the fraction: a clear error', () => {
    expect(() => withValidation({ train: ds(3), test: ds(3) }, 0.1, 1)).toThrow(/data.validation 0.1: 3 training samples are too few/);
  });
});
