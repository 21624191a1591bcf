/**
 * data.source images: one sub-folder per class of PNG or JPEG files
 * (pngjs and jpeg-js decode them), resized to a fixed size.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from '../../util/errors.js';
import { splitsOf, type InMemorySplits, type RawSplit } from './table.js';

export interface ImagesSpec {
  path: string;
  testPath?: string;
  testFraction?: number;
  size: [number, number];
  channels: 1 | 3;
}

const DECODERS: Record<string, (buf: Buffer) => { width: number; height: number; data: Uint8Array }> = {
  '.png': (buf) => PNG.sync.read(buf),
  '.jpg': (buf) => jpeg.decode(buf, { useTArray: true, formatAsRGBA: true }),
  '.jpeg': (buf) => jpeg.decode(buf, { useTArray: true, formatAsRGBA: true }),
};

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    throw new DataError(`${dir}: cannot read the image folder (${(err as NodeJS.ErrnoException).code ?? err})`, { cause: err });
  }
}

/** The class folders of `dir` and their image files, in sorted order. */
function listImages(dir: string): { file: string; label: string }[] {
  const classes = listDir(dir).filter((d) => statSync(join(dir, d)).isDirectory());
  if (classes.length === 0) throw new DataError(`${dir}: no class folders (the layout is ${dir}/<class>/<image>.png)`);
  const out = classes.flatMap((c) => listDir(join(dir, c)).filter((f) => extname(f).toLowerCase() in DECODERS).map((f) => ({ file: join(dir, c, f), label: c })));
  if (out.length === 0) throw new DataError(`${dir}: no .png, .jpg or .jpeg files in its class folders`);
  return out;
}

/** RGBA bytes → the wanted channels (1: luma, ITU-R 601; 3: RGB) as float32 0–255. */
function toChannels(rgba: Uint8Array, pixels: number, channels: 1 | 3): Float32Array {
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const r = rgba[4 * p];
    const g = rgba[4 * p + 1];
    const b = rgba[4 * p + 2];
    if (channels === 1) out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else out.set([r, g, b], 3 * p);
  }
  return out;
}

/**
 * Bilinear resize as tf.image.resizeBilinear does it (alignCorners false,
 * halfPixelCenters false). Written here rather than called from tfjs because
 * data loads before a backend is chosen, and must load the same everywhere.
 */
export function resizeBilinear(src: Float32Array, h: number, w: number, c: number, oh: number, ow: number): Float32Array {
  if (h === oh && w === ow) return src;
  const out = new Float32Array(oh * ow * c);
  const sy = h / oh;
  const sx = w / ow;
  for (let y = 0; y < oh; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < ow; x++) {
      const fx = x * sx;
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      for (let k = 0; k < c; k++) {
        const top = src[(y0 * w + x0) * c + k] * (1 - dx) + src[(y0 * w + x1) * c + k] * dx;
        const bottom = src[(y1 * w + x0) * c + k] * (1 - dx) + src[(y1 * w + x1) * c + k] * dx;
        out[(y * ow + x) * c + k] = top * (1 - dy) + bottom * dy;
      }
    }
  }
  return out;
}

function rawSplit(dir: string, spec: ImagesSpec): RawSplit {
  const files = listImages(dir);
  const [oh, ow] = spec.size;
  const per = oh * ow * spec.channels;
  const x = new Float32Array(files.length * per);
  files.forEach(({ file }, i) => {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = DECODERS[extname(file).toLowerCase()](readFileSync(file));
    } catch (err) {
      throw new DataError(`${file}: cannot decode the image: ${(err as Error).message}`, { cause: err });
    }
    x.set(resizeBilinear(toChannels(img.data, img.width * img.height, spec.channels), img.height, img.width, spec.channels, oh, ow), i * per);
  });
  return { x, labels: files.map((f) => f.label), where: (i) => (i < 0 ? dir : files[i].file) };
}

export function loadImages(spec: ImagesSpec, seed: number): InMemorySplits {
  const train = rawSplit(spec.path, spec);
  const test = spec.testPath === undefined ? undefined : rawSplit(spec.testPath, spec);
  // Folder names are the labels: a numeric folder name ("0", "1") is a class number.
  return splitsOf(train, test, [spec.size[0], spec.size[1], spec.channels], { seed, testFraction: spec.testFraction, what: spec.path, scale: 1 / 255 });
}
