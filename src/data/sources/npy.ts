/** data.source npy: NumPy .npy arrays of features [N, …] and labels [N] (npyjs parses them). */
import { readFileSync } from 'node:fs';
import { parse, type NpyArray } from 'npyjs';
import { DataError } from '../../util/errors.js';
import type { Labels } from '../dataset.js';
import { splitsOf, type InMemorySplits, type RawSplit } from './table.js';

export interface NpySpec {
  x: string;
  y: string;
  testX?: string;
  testY?: string;
  testFraction?: number;
}

function readNpy(file: string): NpyArray {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new DataError(`${file}: cannot read the .npy file (${(err as NodeJS.ErrnoException).code ?? err})`, { cause: err });
  }
  let arr: NpyArray;
  try {
    arr = parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  } catch (err) {
    throw new DataError(`${file}: not a NumPy .npy file: ${(err as Error).message}`, { cause: err });
  }
  const expected = arr.shape.reduce((a, b) => a * b, 1);
  if ((arr.data as unknown as ArrayLike<number>).length !== expected) throw new DataError(`${file}: ${(arr.data as unknown as ArrayLike<number>).length} values for the shape [${arr.shape}] (${expected}): the file is cut short`);
  if (arr.fortranOrder) throw new DataError(`${file}: stored in Fortran order; save it with np.save(f, np.ascontiguousarray(a))`);
  if (arr.dtype.startsWith('U') || arr.dtype === 'c8' || arr.dtype === 'c16') throw new DataError(`${file}: dtype ${arr.dtype} is not a real number type`);
  return arr;
}

function numbers(a: NpyArray): Float64Array | Float32Array {
  const d = a.data as unknown as ArrayLike<number | bigint>;
  if (d instanceof Float32Array) return d;
  return Float64Array.from({ length: d.length }, (_, i) => Number(d[i]));
}

function rawSplit(xFile: string, yFile: string, labels: Labels): { split: RawSplit; shape: number[] } {
  const x = readNpy(xFile);
  const y = readNpy(yFile);
  const n = x.shape[0];
  if (x.shape.length < 2) throw new DataError(`${xFile}: shape [${x.shape}]: features need a sample axis and at least one more ([N, features] or [N, H, W, C])`);
  const width = y.shape.length === 2 ? y.shape[1] : 1;
  if (!(y.shape.length === 1 || (y.shape.length === 2 && (width === 1 || labels === 'values')))) throw new DataError(`${yFile}: shape [${y.shape}]: labels must be [N] (or [N, 1]; [N, k] targets with train.loss mse)`);
  if (y.shape[0] !== n) throw new DataError(`${yFile}: ${y.shape[0]} labels for the ${n} samples of ${xFile}`);
  const values = numbers(x);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  const f = values.length / n;
  if (bad >= 0) throw new DataError(`${xFile}: sample ${Math.floor(bad / f)} holds ${values[bad]}: every feature must be a finite number`);
  const ys = Array.from(numbers(y));
  return { split: { x: values instanceof Float32Array ? values : Float32Array.from(values), labels: ys, width, where: (i) => (i < 0 ? yFile : `${yFile}: label ${i}`) }, shape: x.shape.slice(1) };
}

export function loadNpy(spec: NpySpec, seed: number, labels: Labels = 'classes'): InMemorySplits {
  const train = rawSplit(spec.x, spec.y, labels);
  const test = spec.testX !== undefined && spec.testY !== undefined ? rawSplit(spec.testX, spec.testY, labels) : undefined;
  if (test && test.shape.join() !== train.shape.join()) throw new DataError(`${spec.testX}: samples of shape [${test.shape}], ${spec.x}'s are [${train.shape}]`);
  if (test && test.split.width !== train.split.width) throw new DataError(`${spec.testY}: ${test.split.width} targets a sample, ${spec.y} has ${train.split.width}`);
  return splitsOf(train.split, test?.split, train.shape, { seed, testFraction: spec.testFraction, what: spec.x, labels });
}
