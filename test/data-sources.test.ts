/**
 * The file data sources read what was written: CSV cells, .npy arrays and
 * image pixels checked against the values the test wrote (and the resize
 * against tfjs's own resizeBilinear); held-out splits are disjoint and
 * cover every row; the errors name the file and the row.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCsv } from '../src/data/sources/csv.js';
import { loadImages, resizeBilinear } from '../src/data/sources/images.js';
import { openModuleData } from '../src/data/sources/module.js';
import { loadNpy } from '../src/data/sources/npy.js';
import { tempDir } from './helpers/cli.js';
import { SPECIES, writeCsv, writeNpy, writePng } from './helpers/own-data.js';
import { rng } from './helpers/seeded-rng.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const csvSpec = (path: string, more: Record<string, unknown> = {}) => ({ path, label: 'species' as string | number, header: true, delimiter: ',', ...more });

describe('csv', () => {
  it('features are the cells, string labels the sorted classes, the test share held out by the seed', () => {
    const file = join(tmp.dir, 'a.csv');
    writeCsv(file, 40);
    const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const { train, test } = loadCsv(csvSpec(file, { testFraction: 0.25 }), 7);
    expect([train.size, test.size]).toEqual([30, 10]);
    expect(train.featureShape).toEqual([4]);
    expect(train.classes).toBe(3);
    // Every row lands in one split, once, with its own features and label.
    const seen: string[] = [];
    for (const ds of [train, test])
      for (let i = 0; i < ds.size; i++) {
        const key = Array.from(ds.x.subarray(i * 4, i * 4 + 4) as Float32Array, (v) => v.toFixed(3)).join(',');
        seen.push(`${key}|${SPECIES[ds.y[i]]}`);
      }
    const expected = rows.map((r) => `${[r[0], r[1], r[3], r[4]].join(',')}|${r[2]}`);
    expect(seen.sort()).toEqual(expected.sort());
    // Another seed holds out other rows; the same seed the same ones.
    expect(loadCsv(csvSpec(file, { testFraction: 0.25 }), 7).test.y).toEqual(test.y);
    expect(Array.from(loadCsv(csvSpec(file, { testFraction: 0.25 }), 8).test.x)).not.toEqual(Array.from(test.x));
  });

  it('numeric labels are class numbers; chosen feature columns by name and index; no header', () => {
    const file = join(tmp.dir, 'b.csv');
    writeFileSync(file, '1.5;0;x\n2.5;1;y\n3.5;2;z\n4.5;1;w\n5.5;0;v\n');
    const { train, test } = loadCsv({ path: file, label: 1, features: [0], header: false, delimiter: ';', testFraction: 0.2 }, 1);
    expect(train.classes).toBe(3);
    const all = [...Array.from(train.x), ...Array.from(test.x)].sort();
    expect(all).toEqual([1.5, 2.5, 3.5, 4.5, 5.5]);
    expect(() => loadCsv({ path: file, label: 'b', header: false, delimiter: ';' }, 1)).toThrow(/data\.label: the column "b" is named, but data\.header is false/);
  });

  it('errors: an empty label (it would become a class of its own), a .npy cut short', () => {
    const file = join(tmp.dir, 'empty-label.csv');
    writeFileSync(file, 'a,species\n1,2\n2,\n3,1\n');
    expect(() => loadCsv(csvSpec(file), 1)).toThrow(/empty-label\.csv: line 3: the label is empty/);
    writeNpy(tmp.dir, 'cut-', 12);
    const whole = readFileSync(join(tmp.dir, 'cut-x.npy'));
    writeFileSync(join(tmp.dir, 'cut-x.npy'), whole.subarray(0, whole.length - 8 * 6));
    expect(() => loadNpy({ x: join(tmp.dir, 'cut-x.npy'), y: join(tmp.dir, 'cut-y.npy') }, 1)).toThrow(/cut-x\.npy: 66 values for the shape \[12,2,3\] \(72\): the file is cut short/);
  });

  it('errors: ragged rows, a test label not among the training ones, one class only', () => {
    const ragged = join(tmp.dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b,species\n1,2,x\n3,y\n');
    expect(() => loadCsv(csvSpec(ragged), 1)).toThrow(/ragged\.csv: not valid CSV: .*line 3/);
    const train = join(tmp.dir, 't.csv');
    const test = join(tmp.dir, 'u.csv');
    writeFileSync(train, 'a,species\n1,x\n2,y\n');
    writeFileSync(test, 'a,species\n1,x\n2,q\n');
    expect(() => loadCsv(csvSpec(train, { testPath: test }), 1)).toThrow(/u\.csv: line 3: the label "q" is not among the training labels \(x, y\)/);
    writeFileSync(train, 'a,species\n1,x\n2,x\n');
    expect(() => loadCsv(csvSpec(train), 1)).toThrow(/every label is "x": a classifier needs at least two classes/);
  });
});

describe('npy', () => {
  it('features and labels as written (float64 → float32), sample shape from the array', () => {
    const { x, y } = writeNpy(tmp.dir, 'n-', 12);
    writeNpy(tmp.dir, 'm-', 5, 4);
    const ds = loadNpy({ x: join(tmp.dir, 'n-x.npy'), y: join(tmp.dir, 'n-y.npy'), testX: join(tmp.dir, 'm-x.npy'), testY: join(tmp.dir, 'm-y.npy') }, 1);
    expect(ds.train.featureShape).toEqual([2, 3]);
    expect(Array.from(ds.train.x)).toEqual(Array.from(Float32Array.from(x)));
    expect(Array.from(ds.train.y)).toEqual(Array.from(y));
    expect(ds.test.size).toBe(5);
  });

  it('errors: labels that do not match the samples, a non-number dtype', () => {
    writeNpy(tmp.dir, 'p-', 12);
    writeNpy(tmp.dir, 'q-', 10);
    expect(() => loadNpy({ x: join(tmp.dir, 'p-x.npy'), y: join(tmp.dir, 'q-y.npy') }, 1)).toThrow(/q-y\.npy: 10 labels for the 12 samples of .*p-x\.npy/);
    const junk = join(tmp.dir, 'junk.npy');
    writeFileSync(junk, 'not numpy at all');
    expect(() => loadNpy({ x: junk, y: join(tmp.dir, 'q-y.npy') }, 1)).toThrow(/junk\.npy: not a NumPy \.npy file/);
  });
});

describe('images', () => {
  it('PNG pixels as written, grey as ITU-R 601 luma, scaled to [0, 1]; classes are the sorted folder names', () => {
    const dir = join(tmp.dir, 'pics');
    const colour = (x: number, y: number): [number, number, number] => [x * 40, y * 50, 200];
    for (const c of ['b', 'a']) {
      mkdirSync(join(dir, c), { recursive: true });
      for (let i = 0; i < 5; i++) writePng(join(dir, c, `${i}.png`), 4, 3, colour);
    }
    const rgb = loadImages({ path: dir, size: [3, 4], channels: 3, testFraction: 0.2 }, 1);
    expect(rgb.train.featureShape).toEqual([3, 4, 3]);
    expect(rgb.train.classes).toBe(2);
    const first = Array.from(rgb.train.x.subarray(0, 36), (v) => Math.round(v * rgb.train.scale * 255));
    expect(first).toEqual(Array.from({ length: 12 }, (_, p) => colour(p % 4, Math.floor(p / 4))).flat());
    const grey = loadImages({ path: dir, size: [3, 4], channels: 1, testFraction: 0.2 }, 1);
    const [r, g, b] = colour(1, 2);
    expect(grey.train.x[2 * 4 + 1] * grey.train.scale).toBeCloseTo((0.299 * r + 0.587 * g + 0.114 * b) / 255, 5);
  });

  it('resizing agrees with tf.image.resizeBilinear', () => {
    const r = rng(11);
    for (const [h, w, oh, ow] of [[10, 10, 8, 8], [12, 7, 5, 9], [3, 3, 6, 6]]) {
      const src = Float32Array.from({ length: h * w * 3 }, () => r() * 255);
      const ours = resizeBilinear(src, h, w, 3, oh, ow);
      const theirs = tf.image.resizeBilinear(tf.tensor3d(src, [h, w, 3]), [oh, ow]).dataSync();
      const diff = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i])));
      expect(diff).toBeLessThan(1e-3);
    }
  });
});

describe('module', () => {
  it("checks what the loader returns and what read gives", async () => {
    const write = (name: string, body: string) => {
      const p = join(tmp.dir, name);
      writeFileSync(p, body);
      return { module: p, options: {} };
    };
    await expect(openModuleData(write('m1.mjs', 'export default () => ({ featureShape: [2], classes: 1 })'), 1)).rejects.toThrow(/returned classes 1: a whole number ≥ 2/);
    await expect(openModuleData(write('m2.mjs', 'export default () => ({ featureShape: [2], classes: 2, train: { length: 4, read() {} } })'), 1)).rejects.toThrow(/test is missing/);
    const short = write('m3.mjs', 'const s = { length: 4, read: (ix) => ({ x: [1, 2, 3], y: [0, 1] }) }; export default () => ({ featureShape: [2], classes: 2, train: s, test: s })');
    const data = await openModuleData(short, 1);
    await expect((data.train as { read(i: Int32Array): Promise<unknown> }).read(Int32Array.of(0, 1))).rejects.toThrow(/read\(2 indices\) gave x of 3 values, not 2 × 2/);
    const badLabel = write('m4.mjs', 'const s = { length: 4, read: (ix) => ({ x: [1, 2, 3, 4], y: [0, 5] }) }; export default () => ({ featureShape: [2], classes: 2, train: s, test: s })');
    const d2 = await openModuleData(badLabel, 1);
    await expect((d2.train as { read(i: Int32Array): Promise<unknown> }).read(Int32Array.of(2, 3))).rejects.toThrow(/the label of sample 3 is 5, not a class 0…1/);
  });
});

describe('real-valued labels (train.loss mse)', () => {
  it('csv: one or several target columns, kept as written; npy: y of [N, k]; module: targets a sample', async () => {
    const file = join(tmp.dir, 'reg.csv');
    writeFileSync(file, 'a,t1,b,t2\n1,0.5,2,-1.25\n3,1.5,4,2.75\n5,2.5,6,0.125\n7,3.5,8,9\n9,4.5,10,1\n');
    const one = loadCsv({ path: file, label: 't1', header: true, delimiter: ',', testFraction: 0.2 }, 1, 'values');
    expect(one.train.labels).toBe('values');
    expect(one.train.classes).toBe(1);
    expect(one.train.featureShape).toEqual([3]);
    const both = loadCsv({ path: file, label: ['t1', 't2'], features: ['a', 'b'], header: true, delimiter: ',', testFraction: 0.2 }, 1, 'values');
    const rows = [...Array.from({ length: both.train.size }, (_, i) => i).map((i) => [both.train.x[2 * i], both.train.y[2 * i], both.train.y[2 * i + 1]]), [both.test.x[0], both.test.y[0], both.test.y[1]]];
    expect(rows.sort((p, q) => p[0] - q[0])).toEqual([[1, 0.5, -1.25], [3, 1.5, 2.75], [5, 2.5, 0.125], [7, 3.5, 9], [9, 4.5, 1]]);
    writeFileSync(join(tmp.dir, 'bad-reg.csv'), 'a,t\n1,x\n2,3\n');
    expect(() => loadCsv({ path: join(tmp.dir, 'bad-reg.csv'), label: 't', header: true, delimiter: ',' }, 1, 'values')).toThrow(/bad-reg\.csv: line 2: the label "x" is not a number/);

    const { dump } = await import('npyjs');
    writeFileSync(join(tmp.dir, 'rx.npy'), Buffer.from(dump(Float32Array.from({ length: 10 }, (_, i) => i), [5, 2])));
    writeFileSync(join(tmp.dir, 'ry.npy'), Buffer.from(dump(Float64Array.from({ length: 10 }, (_, i) => i / 4), [5, 2])));
    const npy = loadNpy({ x: join(tmp.dir, 'rx.npy'), y: join(tmp.dir, 'ry.npy'), testFraction: 0.2 }, 1, 'values');
    expect(npy.train.classes).toBe(2);
    expect(Array.from(npy.train.y).every((v, i) => v * 4 === npy.train.x[i])).toBe(true);
    expect(() => loadNpy({ x: join(tmp.dir, 'rx.npy'), y: join(tmp.dir, 'ry.npy') }, 1)).toThrow(/labels must be \[N\] \(or \[N, 1\]; \[N, k\] targets with train\.loss mse\)/);

    const mod = join(tmp.dir, 'reg.mjs');
    writeFileSync(mod, 'const s = { length: 4, read: (ix) => ({ x: Array.from(ix, (k) => k), y: Array.from(ix).flatMap((k) => [k / 2, -k]) }) }; export default () => ({ featureShape: [1], targets: 2, train: s, test: s });');
    const data = await openModuleData({ module: mod, options: {} }, 1, 'values');
    expect(data.train.classes).toBe(2);
    const b = await (data.train as { read(i: Int32Array): Promise<{ y: Float32Array }> }).read(Int32Array.of(3, 1));
    expect(Array.from(b.y)).toEqual([1.5, -3, 0.5, -1]);
  });
});
