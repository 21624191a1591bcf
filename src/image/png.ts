/**
 * A minimal PNG writer (ISO/IEC 15948): 8-bit greyscale or RGB, no
 * interlacing, filter type 0 on every row, one zlib-compressed IDAT chunk.
 */
import { deflateSync } from 'node:zlib';

export interface Raster {
  width: number;
  height: number;
  /** 1: greyscale, 3: RGB. */
  channels: 1 | 3;
  /** Row-major, `height × width × channels` bytes. */
  pixels: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG chunks use it) of the bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export function encodePng(r: Raster): Buffer {
  if (!Number.isInteger(r.width) || !Number.isInteger(r.height) || r.width < 1 || r.height < 1) throw new RangeError(`a PNG needs a positive whole size, got ${r.width}×${r.height}`);
  const row = r.width * r.channels;
  if (r.pixels.length !== row * r.height) throw new RangeError(`${r.pixels.length} bytes for a ${r.width}×${r.height}×${r.channels} image`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(r.width, 0);
  ihdr.writeUInt32BE(r.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = r.channels === 1 ? 0 : 2; // colour type: greyscale or truecolour
  // compression, filter method and interlace stay 0.
  const raw = Buffer.alloc((row + 1) * r.height);
  for (let y = 0; y < r.height; y++) raw.set(r.pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
