/**
 * data.source module: the user's loader. Its default export gets
 * `{seed, options}` and returns (or resolves to) `{train, test,
 * featureShape, classes}`, where train and test are `{length, read(indices)}`:
 * each worker reads only the samples of its shard, so the data need not fit
 * in one process.
 */
import { DataError } from '../../util/errors.js';
import { importDefaultFunction } from '../../util/user-module.js';
import type { Batch, DataSplits, Labels, SampleReader } from '../dataset.js';

export interface ModuleSpec {
  module: string;
  options: Record<string, unknown>;
}

interface UserSplit {
  length: unknown;
  read: unknown;
}

export async function openModuleData(spec: ModuleSpec, seed: number, labels: Labels = 'classes'): Promise<DataSplits> {
  const load = await importDefaultFunction(spec.module, 'data.module');
  const what = `${spec.module}: the data module's default export`;
  let got: Record<string, unknown>;
  try {
    got = (await (load as (a: unknown) => unknown)({ seed, options: spec.options })) as Record<string, unknown>;
  } catch (err) {
    throw new DataError(`${what} threw: ${(err as Error).message}`, { cause: err });
  }
  if (got === null || typeof got !== 'object') throw new DataError(`${what} returned ${got === null ? 'null' : typeof got}, not {train, test, featureShape, classes}`);
  const { featureShape } = got;
  // Regression (train.loss mse): `targets` real values a sample, in place of classes.
  const values = labels === 'values';
  const classes = values ? got.targets : got.classes;
  if (!Array.isArray(featureShape) || featureShape.length === 0 || !featureShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new DataError(`${what} returned featureShape ${JSON.stringify(featureShape)}: it must be the shape of one sample, e.g. [4] or [28, 28, 1]`);
  }
  if (values && (!Number.isInteger(classes) || (classes as number) < 1)) throw new DataError(`${what} returned targets ${JSON.stringify(classes)}: with train.loss mse, the number of real values a label has (a whole number ≥ 1)`);
  if (!values && (!Number.isInteger(classes) || (classes as number) < 2)) throw new DataError(`${what} returned classes ${JSON.stringify(classes)}: a whole number ≥ 2`);
  const split = (name: 'train' | 'test'): SampleReader => reader(got[name] as UserSplit | undefined, `${spec.module}: ${name}`, featureShape as number[], classes as number, values);
  return { train: split('train'), test: split('test') };
}

function reader(s: UserSplit | undefined, what: string, featureShape: number[], classes: number, values: boolean): SampleReader {
  if (!s || typeof s !== 'object') throw new DataError(`${what} is missing: return {length, read(indices)} for it`);
  if (!Number.isInteger(s.length) || (s.length as number) < 1) throw new DataError(`${what}.length is ${JSON.stringify(s.length)}: a whole number ≥ 1`);
  if (typeof s.read !== 'function') throw new DataError(`${what}.read is not a function: read(indices) returns {x, y} for those samples`);
  const read = s.read.bind(s) as (indices: Int32Array) => unknown;
  const f = featureShape.reduce((a, b) => a * b, 1);
  return {
    size: s.length as number,
    featureShape,
    classes,
    ...(values ? { labels: 'values' as const } : {}),
    read: async (indices): Promise<Batch> => {
      let b: { x?: ArrayLike<number>; y?: ArrayLike<number> };
      try {
        b = ((await read(indices)) ?? {}) as typeof b;
      } catch (err) {
        throw new DataError(`${what}.read threw: ${(err as Error).message}`, { cause: err });
      }
      const n = indices.length;
      if (!b.x || b.x.length !== n * f) throw new DataError(`${what}.read(${n} indices) gave x of ${b.x?.length ?? 'no'} values, not ${n} × ${f} (featureShape [${featureShape}])`);
      const x = b.x instanceof Float32Array ? b.x : Float32Array.from(b.x);
      if (values) {
        if (!b.y || b.y.length !== n * classes) throw new DataError(`${what}.read(${n} indices) gave y of ${b.y?.length ?? 'no'} values, not ${n} × ${classes} targets`);
        const y = Float32Array.from(b.y);
        const bad = y.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new DataError(`${what}.read: a target of sample ${indices[Math.floor(bad / classes)]} is ${b.y[bad]}, not a finite number`);
        return { x, y };
      }
      if (!b.y || b.y.length !== n) throw new DataError(`${what}.read(${n} indices) gave y of ${b.y?.length ?? 'no'} labels, not ${n}`);
      const y = Int32Array.from(b.y);
      const bad = y.findIndex((v, i) => v !== b.y![i] || v < 0 || v >= classes);
      if (bad >= 0) throw new DataError(`${what}.read: the label of sample ${indices[bad]} is ${b.y[bad]}, not a class 0…${classes - 1}`);
      return { x, y };
    },
  };
}
