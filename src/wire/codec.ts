/**
 * The wire codec, pure (no sockets). A message is multipart: frame 0 is a
 * msgpackr-encoded header whose `tensors` list gives the dtype and shape of
 * the frames that follow; frames 1..n are raw little-endian tensor bytes.
 *
 * No tensor goes through msgpack (msgpackr turns a Float32Array into a plain
 * Buffer and loses its type), and every tensor frame is handed to the socket
 * as a Buffer *view* of the array's memory: zeromq.js stringifies a typed
 * array that is not a Buffer, silently corrupting it.
 */
import { Packr } from 'msgpackr';
import { ProtocolError } from '../util/errors.js';

export const PROTOCOL_VERSION = 1;

export type DType = 'float32' | 'int32' | 'uint8';
export type TypedArray = Float32Array | Int32Array | Uint8Array;

export interface TensorDesc {
  dtype: DType;
  shape: number[];
}

export interface Limits {
  maxHeaderBytes: number;
  maxFrames: number;
  maxTensorBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxHeaderBytes: 4 * 1024 * 1024,
  maxFrames: 64,
  maxTensorBytes: 2 * 1024 * 1024 * 1024 - 1,
};

const packr = new Packr({ useRecords: false, moreTypes: false });

const BYTES: Record<DType, number> = { float32: 4, int32: 4, uint8: 1 };

export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'uint8';
}

/** A Buffer over the same memory as `a`: no copy. */
export function asBuffer(a: TypedArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Encodes a header and tensors into frames. Tensors are given 1-D; `shapes` adds their shapes. */
export function encode(header: Record<string, unknown>, tensors: TypedArray[] = [], shapes?: number[][]): Buffer[] {
  const descs: TensorDesc[] = tensors.map((t, i) => ({ dtype: dtypeOf(t), shape: shapes?.[i] ?? [t.length] }));
  const head = packr.pack({ ...header, v: PROTOCOL_VERSION, tensors: descs });
  return [head, ...tensors.map(asBuffer)];
}

export interface Decoded {
  header: Record<string, unknown> & { type: string; tensors: TensorDesc[] };
  tensors: TypedArray[];
}

/** Decodes frames; throws ProtocolError for anything malformed, oversized or inconsistent. */
export function decode(frames: Uint8Array[], limits: Limits = DEFAULT_LIMITS): Decoded {
  if (frames.length === 0) throw new ProtocolError('empty message');
  if (frames.length > limits.maxFrames) throw new ProtocolError(`${frames.length} frames (at most ${limits.maxFrames})`);
  const head = frames[0];
  if (head.byteLength > limits.maxHeaderBytes) throw new ProtocolError(`header of ${head.byteLength} bytes (at most ${limits.maxHeaderBytes})`);
  let header: unknown;
  try {
    header = packr.unpack(head);
  } catch (err) {
    throw new ProtocolError('header is not msgpack', { cause: err });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new ProtocolError('header is not a map');
  const h = header as Record<string, unknown>;
  if (h.v !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${String(h.v)} (expected ${PROTOCOL_VERSION})`);
  if (typeof h.type !== 'string') throw new ProtocolError('header has no type');
  const descs = h.tensors;
  if (!Array.isArray(descs)) throw new ProtocolError('header has no tensor list');
  if (descs.length !== frames.length - 1) throw new ProtocolError(`header lists ${descs.length} tensors but ${frames.length - 1} frames follow`);
  const tensors = descs.map((d, i) => toTensor(d, frames[i + 1], i, limits));
  return { header: h as Decoded['header'], tensors };
}

function toTensor(d: unknown, frame: Uint8Array, i: number, limits: Limits): TypedArray {
  const desc = d as TensorDesc;
  if (desc === null || typeof desc !== 'object' || !(desc.dtype in BYTES)) throw new ProtocolError(`tensor ${i}: bad dtype`);
  if (!Array.isArray(desc.shape) || desc.shape.some((s) => !Number.isInteger(s) || s < 0)) throw new ProtocolError(`tensor ${i}: bad shape`);
  const bytes = desc.shape.reduce((a, b) => a * b, 1) * BYTES[desc.dtype];
  if (bytes > limits.maxTensorBytes) throw new ProtocolError(`tensor ${i}: ${bytes} bytes (at most ${limits.maxTensorBytes})`);
  if (frame.byteLength !== bytes) throw new ProtocolError(`tensor ${i}: ${desc.dtype}[${desc.shape}] needs ${bytes} bytes, frame has ${frame.byteLength}`);
  const el = BYTES[desc.dtype];
  // Typed-array views need aligned offsets; a misaligned frame is copied once.
  const src = frame.byteOffset % el === 0 ? frame : new Uint8Array(frame);
  const n = bytes / el;
  switch (desc.dtype) {
    case 'float32':
      return new Float32Array(src.buffer, src.byteOffset, n);
    case 'int32':
      return new Int32Array(src.buffer, src.byteOffset, n);
    default:
      return new Uint8Array(src.buffer, src.byteOffset, n);
  }
}
