/**
 * What the file sources share: labels that become classes, a held-out test
 * share drawn by the job seed, and features packed into a Dataset.
 */
import { DataError } from '../../util/errors.js';
import { hashInts, Rng, Stream } from '../../util/rng.js';
import { featureSize, labelsFor, labelWidth, type Dataset, type InMemorySplits, type Labels } from '../dataset.js';

export type { InMemorySplits };

/** One split's rows before the labels become classes: features row-major, raw labels (`width` a row), and where each row came from (for errors). */
export interface RawSplit {
  x: Float32Array;
  labels: (string | number)[];
  where: (i: number) => string;
  /** Labels a row: 1, or the targets of a regression (default 1). */
  width?: number;
}

/** The share of the samples held out for evaluation when a source gives no test files. */
export const DEFAULT_TEST_FRACTION = 0.2;

/**
 * Labels → classes: if every label is a number, each must be whole and ≥ 0
 * and the classes are 0…max; otherwise the distinct labels, sorted, are the
 * classes, each test label being one of the training labels.
 */
export function classesOf(train: RawSplit, test: RawSplit | undefined): { classes: number; names?: string[]; y: [Int32Array, Int32Array | undefined] } {
  const all = [train, ...(test ? [test] : [])];
  // An empty label would silently become a class of its own (and turn numeric labels into sorted text).
  for (const s of all) {
    const i = s.labels.findIndex((l) => typeof l === 'string' && l.trim() === '');
    if (i >= 0) throw new DataError(`${s.where(i)}: the label is empty`);
  }
  const numeric = all.every((s) => s.labels.every((l) => typeof l === 'number' || (l.trim() !== '' && Number.isFinite(Number(l)))));
  if (numeric) {
    let max = -1;
    const y = all.map((s) =>
      Int32Array.from(s.labels, (l, i) => {
        const v = Number(l);
        if (!Number.isInteger(v) || v < 0) throw new DataError(`${s.where(i)}: the label ${l} is not a whole number ≥ 0 (numeric labels are class numbers 0, 1, …)`);
        max = Math.max(max, v);
        return v;
      }),
    );
    if (max < 1) throw new DataError(`${train.where(-1)}: every label is ${max}: a classifier needs at least two classes`);
    return { classes: max + 1, y: [y[0], y[1]] };
  }
  const names = [...new Set(train.labels.map(String))].sort();
  if (names.length < 2) throw new DataError(`${train.where(-1)}: every label is ${JSON.stringify(names[0])}: a classifier needs at least two classes`);
  const index = new Map(names.map((n, i) => [n, i]));
  const y = all.map((s) =>
    Int32Array.from(s.labels, (l, i) => {
      const c = index.get(String(l));
      if (c === undefined) throw new DataError(`${s.where(i)}: the label ${JSON.stringify(l)} is not among the training labels (${names.join(', ')})`);
      return c;
    }),
  );
  return { classes: names.length, names, y: [y[0], y[1]] };
}

/** The samples of `n` held out for evaluation: a seeded draw of round(n·fraction), at least one each side, in file order. */
export function heldOut(n: number, fraction: number, seed: number, what: string): { train: Int32Array; test: Int32Array } {
  const k = Math.round(n * fraction);
  if (k < 1 || k > n - 1) throw new DataError(`${what}: ${n} samples are too few to hold out testFraction ${fraction} for evaluation (give a test file)`);
  const { kept, held } = drawHeldOut(n, k, hashInts(seed, Stream.split, n));
  return { train: kept, test: held };
}

/** k of the indices 0…n−1 drawn by a generator seeded with `key`, and the others; both in ascending order. */
export function drawHeldOut(n: number, k: number, key: number): { kept: Int32Array; held: Int32Array } {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(key);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return { kept: perm.slice(k).sort(), held: perm.slice(0, k).sort() };
}

/** Real-valued labels (train.loss mse): every label a finite number, `width` a row. */
function valuesOf(s: RawSplit): Float32Array {
  const w = s.width ?? 1;
  return Float32Array.from(s.labels, (l, i) => {
    const v = Number(l);
    if ((typeof l === 'string' && l.trim() === '') || !Number.isFinite(v)) throw new DataError(`${s.where(Math.floor(i / w))}: the label ${JSON.stringify(l)} is not a number (train.loss mse regresses on real values)`);
    return v;
  });
}

/** The rows of a data set at `rows`, copied. */
export function pick(ds: Dataset, rows: Int32Array): Dataset {
  const f = featureSize(ds);
  const k = labelWidth(ds);
  const x = new Float32Array(rows.length * f);
  const y = labelsFor(ds, rows.length);
  const src = ds.x as Float32Array;
  rows.forEach((r, i) => {
    x.set(src.subarray(r * f, (r + 1) * f), i * f);
    y.set(ds.y.subarray(r * k, (r + 1) * k), i * k);
  });
  return { ...ds, size: rows.length, x, y };
}

/**
 * The two splits of a file source: the test split from its own files, or
 * held out of the training files by `testFraction` (default a fifth).
 */
export function splitsOf(
  train: RawSplit,
  test: RawSplit | undefined,
  featureShape: number[],
  opts: { seed: number; testFraction?: number; what: string; scale?: number; labels?: Labels },
): InMemorySplits {
  const values = opts.labels === 'values';
  const width = train.width ?? 1;
  const { classes, y } = values ? { classes: width, y: [valuesOf(train), test && valuesOf(test)] as const } : classesOf(train, test);
  const make = (s: RawSplit, labels: Int32Array | Float32Array): Dataset => ({ size: labels.length / (values ? width : 1), featureShape, classes, x: s.x, scale: opts.scale ?? 1, y: labels, ...(values ? { labels: 'values' as const } : {}) });
  const whole = make(train, y[0]!);
  if (test) return { train: whole, test: make(test, y[1]!) };
  const rows = heldOut(whole.size, opts.testFraction ?? DEFAULT_TEST_FRACTION, opts.seed, opts.what);
  return { train: pick(whole, rows.train), test: pick(whole, rows.test) };
}
