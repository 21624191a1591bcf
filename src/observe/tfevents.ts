/**
 * TensorBoard's event files: TFRecord framing (a little-endian uint64
 * length, the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C
 * of the data) around `Event` protobufs (tensorflow/core/util/event.proto,
 * summary.proto), encoded with protobufjs from the fields we write. The
 * first record names the file version; each later one holds the scalars of
 * one step, a picture (PNG), or a resumed session's start.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import CRC32C from 'crc-32/crc32c.js';
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    Event: {
      fields: {
        wallTime: { type: 'double', id: 1 },
        step: { type: 'int64', id: 2 },
        fileVersion: { type: 'string', id: 3 },
        summary: { type: 'Summary', id: 5 },
        sessionLog: { type: 'SessionLog', id: 6 },
      },
    },
    SessionLog: { fields: { status: { type: 'int32', id: 1 }, msg: { type: 'string', id: 3 } } },
    Summary: {
      fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
      nested: {
        Value: { fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 }, image: { type: 'Image', id: 4 } } },
        Image: { fields: { height: { type: 'int32', id: 1 }, width: { type: 'int32', id: 2 }, colorspace: { type: 'int32', id: 3 }, encodedImageString: { type: 'bytes', id: 4 } } },
      },
    },
  },
});
const EventType = root.lookupType('Event');

/** TFRecord's CRC mask: rotate right by 15, add a constant (so a CRC of data holding CRCs is not trivially 0). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = CRC32C.buf(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, its masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

function event(fields: Record<string, unknown>): Uint8Array {
  return EventType.encode(EventType.fromObject(fields)).finish();
}

let files = 0;

/** SessionLog.START: TensorBoard discards the points of earlier files at or after its step. */
const SESSION_START = 1;

/** An event file in `dir`, named as TensorBoard expects (events.out.tfevents.<seconds>.<host>). */
export class EventFile {
  readonly path: string;

  constructor(dir: string, now = Date.now()) {
    mkdirSync(dir, { recursive: true });
    // A session started again in the same second (a recovery) gets a file of its own.
    this.path = join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}.${process.pid}.${files++}`);
    writeFileSync(this.path, tfRecord(event({ wallTime: now / 1000, fileVersion: 'brain.Event:2' })));
  }

  /**
   * A session that goes on from `step` (a resumed run): TensorBoard drops
   * the earlier files' points from that step on, which the resumed run
   * writes again.
   */
  restart(step: number, now = Date.now()): void {
    appendFileSync(this.path, tfRecord(event({ wallTime: now / 1000, step, sessionLog: { status: SESSION_START, msg: `resumed at step ${step}` } })));
  }

  /** A PNG picture at `step` under `tag` (colour space 1: grey, 3: RGB). */
  image(step: number, tag: string, png: Uint8Array, size: { width: number; height: number; channels: 1 | 3 }, now = Date.now()): void {
    const image = { height: size.height, width: size.width, colorspace: size.channels, encodedImageString: png };
    appendFileSync(this.path, tfRecord(event({ wallTime: now / 1000, step, summary: { value: [{ tag, image }] } })));
  }

  /** Scalars of one step, by tag. */
  scalars(step: number, values: Record<string, number>, now = Date.now()): void {
    const value = Object.entries(values).map(([tag, simpleValue]) => ({ tag, simpleValue }));
    if (value.length > 0) appendFileSync(this.path, tfRecord(event({ wallTime: now / 1000, step, summary: { value } })));
  }
}
