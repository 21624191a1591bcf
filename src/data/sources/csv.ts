/** data.source csv: a table of numeric feature columns and a label column (csv-parse reads it). */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DataError } from '../../util/errors.js';
import type { Labels } from '../dataset.js';
import { splitsOf, type InMemorySplits, type RawSplit } from './table.js';

export interface CsvSpec {
  path: string;
  label: string | number | (string | number)[];
  features?: (string | number)[];
  header: boolean;
  delimiter: string;
  testPath?: string;
  testFraction?: number;
}

interface Table {
  file: string;
  names?: string[];
  rows: string[][];
  lines: number[];
}

function readTable(file: string, spec: CsvSpec): Table {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(`${file}: cannot read the CSV file (${(err as NodeJS.ErrnoException).code ?? err})`, { cause: err });
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter: spec.delimiter, skip_empty_lines: true, trim: true, info: true, bom: true }) as unknown as typeof records;
  } catch (err) {
    // csv-parse names the line: "Invalid Record Length: expect 5, got 4 on line 7".
    throw new DataError(`${file}: not valid CSV: ${(err as Error).message}`, { cause: err });
  }
  const names = spec.header ? records.shift()?.record : undefined;
  if (records.length === 0) throw new DataError(`${file}: no data rows`);
  return { file, names, rows: records.map((r) => r.record), lines: records.map((r) => r.info.lines) };
}

/** A column given by name or index → its index, checked against the file. */
function columnIndex(t: Table, c: string | number, key: string): number {
  const width = t.rows[0].length;
  if (typeof c === 'number') {
    if (c >= width) throw new DataError(`${t.file}: data.${key}: column ${c} does not exist (the rows have ${width} columns, 0–${width - 1})`);
    return c;
  }
  if (!t.names) throw new DataError(`${t.file}: data.${key}: the column ${JSON.stringify(c)} is named, but data.header is false: give its index`);
  const i = t.names.indexOf(c);
  if (i < 0) throw new DataError(`${t.file}: data.${key}: no column named ${JSON.stringify(c)} (the header has ${t.names.map((n) => JSON.stringify(n)).join(', ')})`);
  return i;
}

function rawSplit(t: Table, label: number[], features: number[]): RawSplit {
  const f = features.length;
  const x = new Float32Array(t.rows.length * f);
  const name = (j: number) => (t.names ? `column ${JSON.stringify(t.names[j])}` : `column ${j}`);
  t.rows.forEach((row, i) =>
    features.forEach((j, k) => {
      const cell = row[j];
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) throw new DataError(`${t.file}: line ${t.lines[i]}: ${name(j)} is ${JSON.stringify(cell)}, not a number (every feature must be one)`);
      x[i * f + k] = v;
    }),
  );
  return { x, labels: t.rows.flatMap((r) => label.map((j) => r[j])), width: label.length, where: (i) => (i < 0 ? t.file : `${t.file}: line ${t.lines[i]}`) };
}

export function loadCsv(spec: CsvSpec, seed: number, labels: Labels = 'classes'): InMemorySplits {
  const train = readTable(spec.path, spec);
  const test = spec.testPath === undefined ? undefined : readTable(spec.testPath, spec);
  const label = (Array.isArray(spec.label) ? spec.label : [spec.label]).map((c) => columnIndex(train, c, 'label'));
  const features = spec.features ? spec.features.map((c) => columnIndex(train, c, 'features')) : train.rows[0].map((_, j) => j).filter((j) => !label.includes(j));
  if (features.some((j) => label.includes(j))) throw new DataError(`${train.file}: data.features includes a label column`);
  if (features.length === 0) throw new DataError(`${train.file}: no feature columns besides the label`);
  if (test) {
    const same = test.rows[0].length === train.rows[0].length && (!train.names || test.names?.every((n, i) => n === train.names![i]));
    if (!same) throw new DataError(`${test.file}: its columns differ from ${train.file}'s (${(test.names ?? test.rows[0]).length} against ${(train.names ?? train.rows[0]).length}${train.names ? `: ${test.names?.join(',')} against ${train.names.join(',')}` : ''})`);
  }
  return splitsOf(rawSplit(train, label, features), test && rawSplit(test, label, features), [features.length], { seed, testFraction: spec.testFraction, what: train.file, labels });
}
