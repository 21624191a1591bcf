/**
 * The IDX format of (Fashion-)MNIST: a big-endian header (magic, dimension
 * sizes) then raw uint8 values. Files may be gzipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../util/errors.js';
import type { InMemorySplits, Dataset } from './dataset.js';

const UBYTE = 0x08;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file's bytes. Only unsigned-byte payloads occur in (Fashion-)MNIST. */
export function parseIdx(buf: Uint8Array, name = 'IDX file'): IdxArray {
  if (buf.length < 4) throw new DataError(`${name}: too short for an IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint16(0) !== 0) throw new DataError(`${name}: bad IDX magic (first two bytes must be 0)`);
  const type = buf[2];
  const ndim = buf[3];
  if (type !== UBYTE) throw new DataError(`${name}: IDX element type 0x${type.toString(16)} is not unsigned byte`);
  if (ndim < 1 || buf.length < 4 + 4 * ndim) throw new DataError(`${name}: truncated IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length - start !== count) throw new DataError(`${name}: expected ${count} values for dims [${dims}], found ${buf.length - start}`);
  return { dims, data: buf.subarray(start) };
}

function readIdx(dir: string, stem: string): IdxArray {
  for (const candidate of [`${stem}.gz`, stem]) {
    const p = join(dir, candidate);
    if (!existsSync(p)) continue;
    let bytes: Uint8Array = readFileSync(p);
    if (candidate.endsWith('.gz')) {
      try {
        bytes = gunzipSync(bytes);
      } catch (err) {
        throw new DataError(`${p}: not a valid gzip file`, { cause: err });
      }
    }
    return parseIdx(bytes, p);
  }
  throw new DataError(`${join(dir, stem)}(.gz) not found`);
}

function split(dir: string, prefix: 'train' | 't10k'): Dataset {
  const images = readIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labels = readIdx(dir, `${prefix}-labels-idx1-ubyte`);
  if (images.dims.length !== 3) throw new DataError(`${prefix} images: expected 3 dimensions, got [${images.dims}]`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new DataError(`${prefix}: ${images.dims[0]} images but ${labels.dims[0]} labels`);
  }
  const y = Int32Array.from(labels.data);
  if (y.some((v) => v > 9)) throw new DataError(`${prefix} labels: a label above 9`);
  return { size: images.dims[0], featureShape: [images.dims[1], images.dims[2], 1], classes: 10, x: images.data, scale: 1 / 255, y };
}

/** Fashion-MNIST's class names, by label (short forms for captions). */
export const FASHION_MNIST_CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Loads train and test splits from a folder holding the four standard files. */
export function loadFashionMnist(dir: string): InMemorySplits {
  return { train: split(dir, 'train'), test: split(dir, 't10k') };
}
