/**
 * A reader of TensorBoard's event files written here, independent of the
 * writer's libraries: TFRecord framing with its own CRC-32C table (every
 * record's CRCs checked), and a protobuf wire-format decoder for the Event
 * and Summary fields dtrain writes (scalars, images, session starts).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC32C_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const masked = (b: Uint8Array) => ((((crc32c(b) >>> 15) | (crc32c(b) << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** The records of a TFRecord file, each CRC checked. */
function records(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = Number(buf.readBigUInt64LE(at));
    expect(buf.readUInt32LE(at + 8)).toBe(masked(buf.subarray(at, at + 8)));
    const data = buf.subarray(at + 12, at + 12 + len);
    expect(buf.readUInt32LE(at + 12 + len)).toBe(masked(data));
    out.push(data);
    at += 16 + len;
  }
  return out;
}

type Field = { no: number; wire: number; value: bigint | number | Buffer };
/** Protobuf wire format: varints, 64-bit, length-delimited and 32-bit fields. */
function fields(b: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = b[at++];
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
  };
  while (at < b.length) {
    const key = Number(varint());
    const [no, wire] = [key >>> 3, key & 7];
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      out.push({ no, wire, value: b.readDoubleLE(at) });
      at += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: b.subarray(at, at + len) });
      at += len;
    } else if (wire === 5) {
      out.push({ no, wire, value: b.readFloatLE(at) });
      at += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

export interface Scalar {
  step: number;
  tag: string;
  value: number;
}

export interface Image {
  step: number;
  tag: string;
  width: number;
  height: number;
  colorspace: number;
  png: Buffer;
}

/** The file version, every scalar and picture, and the steps of SessionLog START events, in file order. */
export function readEvents(file: string): { version?: string; scalars: Scalar[]; images: Image[]; starts: number[] } {
  let version: string | undefined;
  const scalars: Scalar[] = [];
  const images: Image[] = [];
  const starts: number[] = [];
  for (const rec of records(readFileSync(file))) {
    const f = fields(rec);
    const step = Number((f.find((x) => x.no === 2)?.value as bigint | undefined) ?? 0n);
    const v = f.find((x) => x.no === 3);
    if (v) version = (v.value as Buffer).toString();
    const log = f.find((x) => x.no === 6);
    if (log && fields(log.value as Buffer).find((x) => x.no === 1)?.value === 1n) starts.push(step);
    const summary = f.find((x) => x.no === 5);
    if (!summary) continue;
    for (const val of fields(summary.value as Buffer).filter((x) => x.no === 1)) {
      const vf = fields(val.value as Buffer);
      const tag = (vf.find((x) => x.no === 1)!.value as Buffer).toString();
      const image = vf.find((x) => x.no === 4);
      if (image) {
        const imf = fields(image.value as Buffer);
        const num = (no: number) => Number(imf.find((x) => x.no === no)?.value ?? 0n);
        images.push({ step, tag, height: num(1), width: num(2), colorspace: num(3), png: imf.find((x) => x.no === 4)!.value as Buffer });
      } else scalars.push({ step, tag, value: vf.find((x) => x.no === 2)!.value as number });
    }
  }
  return { version, scalars, images, starts };
}

