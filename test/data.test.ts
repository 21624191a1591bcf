import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gather } from '../src/data/dataset.js';
import { loadFashionMnist, parseIdx } from '../src/data/idx.js';
import { makeSynthetic } from '../src/data/synthetic.js';
import { DataError } from '../src/util/errors.js';
import { FASHION_MNIST } from './helpers/cli.js';

function idx(dims: number[], values: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(head.buffer);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  return new Uint8Array([...head, ...values]);
}

describe('IDX files', () => {
  it('parses big-endian dimensions and the payload', () => {
    const a = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('rejects bad magic, other element types, and a wrong payload size', () => {
    const bad = idx([2], [1, 2]);
    bad[0] = 1;
    expect(() => parseIdx(bad)).toThrow(DataError);
    const f = idx([1], [0, 0, 0, 0]);
    f[2] = 0x0d;
    expect(() => parseIdx(f)).toThrow(/element type 0xd/);
    expect(() => parseIdx(idx([3], [1, 2]))).toThrow(/expected 3 values/);
  });
  it.skipIf(!existsSync(FASHION_MNIST))('loads Fashion-MNIST: 60000 + 10000 images of 28×28, labels 0-9', () => {
    const { train, test } = loadFashionMnist(FASHION_MNIST);
    expect(train.size).toBe(60000);
    expect(test.size).toBe(10000);
    expect(train.featureShape).toEqual([28, 28, 1]);
    const counts = new Array(10).fill(0);
    for (const y of train.y) counts[y]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    const b = gather(train, [0, 59999]);
    expect(Math.max(...b.x)).toBeLessThanOrEqual(1);
    expect(Math.max(...b.x)).toBeGreaterThan(0.5);
  });
});

describe('synthetic data', () => {
  it('is the same for the same seed, different for another', () => {
    const spec = { kind: 'blobs' as const, samples: 100, features: 3, classes: 4, noise: 0.5 };
    const a = makeSynthetic(spec, 1);
    expect(Array.from(makeSynthetic(spec, 1).train.x)).toEqual(Array.from(a.train.x));
    expect(Array.from(makeSynthetic(spec, 2).train.x)).not.toEqual(Array.from(a.train.x));
    expect(a.test.size).toBe(20);
    expect(new Set(a.train.y).size).toBe(4);
  });
  it('draws spirals on 2 features', () => {
    const s = makeSynthetic({ kind: 'spirals', samples: 90, features: 2, classes: 3, noise: 0.1 }, 5);
    expect(s.train.x.length).toBe(180);
    expect(Math.max(...s.train.x.map(Math.abs))).toBeLessThan(4);
  });
});
