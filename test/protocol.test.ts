/** The wire codec fed raw bytes, and the control plane's handling of bad input. */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ControlPlane } from '../src/coordinator/control.js';
import { ProtocolError, WorkerFailedError } from '../src/util/errors.js';
import { makeLogger } from '../src/util/log.js';
import { decode, encode, PROTOCOL_VERSION } from '../src/wire/codec.js';
import { parseMessage } from '../src/wire/messages.js';
import { memoryHub } from '../src/wire/memory-transport.js';

const raw = new Packr({ useRecords: false });
const head = (h: Record<string, unknown>) => raw.pack({ v: PROTOCOL_VERSION, tensors: [], ...h });

describe('codec', () => {
  it('round-trips float32, int32 and uint8 tensors with shapes, without msgpack touching them', () => {
    const f = new Float32Array([1.5, -2.25, Math.PI, NaN, Infinity]);
    const i = new Int32Array([0, -1, 2 ** 31 - 1]);
    const u = new Uint8Array([0, 255, 7, 9, 1, 2]);
    const frames = encode({ type: 'x', n: 3 }, [f, i, u], [[5], [3], [2, 3]]);
    expect(frames.length).toBe(4);
    // The tensor frames are views of the arrays' own memory: no copy.
    expect(frames[1].buffer).toBe(f.buffer);
    const d = decode(frames.map((b) => new Uint8Array(b)));
    expect(d.header).toMatchObject({ type: 'x', n: 3, v: PROTOCOL_VERSION });
    expect(d.header.tensors).toEqual([{ dtype: 'float32', shape: [5] }, { dtype: 'int32', shape: [3] }, { dtype: 'uint8', shape: [2, 3] }]);
    expect(d.tensors[0]).toBeInstanceOf(Float32Array);
    expect(Array.from(d.tensors[0])).toEqual(Array.from(f));
    expect(Array.from(d.tensors[1])).toEqual(Array.from(i));
    expect(Array.from(d.tensors[2])).toEqual(Array.from(u));
  });

  it('copies a misaligned frame instead of failing', () => {
    const frames = encode({ type: 'x' }, [new Float32Array([1, 2, 3])]);
    const shifted = new Uint8Array(13);
    shifted.set(frames[1], 1);
    const d = decode([frames[0], shifted.subarray(1)]);
    expect(Array.from(d.tensors[0])).toEqual([1, 2, 3]);
  });

  const bad: [string, Uint8Array[], RegExp][] = [
    ['no frames', [], /empty message/],
    ['garbage header', [new Uint8Array([0xc1, 0xff, 0x00])], /not msgpack|header/],
    ['header not a map', [raw.pack([1, 2, 3])], /not a map/],
    ['wrong version', [raw.pack({ v: 99, type: 'ping', tensors: [] })], /protocol version 99/],
    ['no type', [raw.pack({ v: PROTOCOL_VERSION, tensors: [] })], /no type/],
    ['frame count mismatch', [head({ type: 'x', tensors: [{ dtype: 'float32', shape: [2] }] })], /lists 1 tensors but 0 frames/],
    ['frame length mismatch', [head({ type: 'x', tensors: [{ dtype: 'float32', shape: [2] }] }), new Uint8Array(7)], /needs 8 bytes, frame has 7/],
    ['bad dtype', [head({ type: 'x', tensors: [{ dtype: 'float64', shape: [1] }] }), new Uint8Array(8)], /bad dtype/],
    ['negative dimension', [head({ type: 'x', tensors: [{ dtype: 'uint8', shape: [-1] }] }), new Uint8Array(0)], /bad shape/],
    ['oversized header', [new Uint8Array(5 * 1024 * 1024)], /header of \d+ bytes/],
    ['too many frames', Array.from({ length: 100 }, () => new Uint8Array(1)), /100 frames/],
  ];
  for (const [name, frames, re] of bad) {
    it(`rejects ${name} with ProtocolError`, () => {
      expect(() => decode(frames)).toThrow(ProtocolError);
      expect(() => decode(frames)).toThrow(re);
    });
  }

  it('validates each message type: fields, types and tensor count', () => {
    expect(() => parseMessage(encode({ type: 'nonsense' }))).toThrow(/unknown message type "nonsense"/);
    // Names every object has are not message types.
    for (const t of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) expect(() => parseMessage(encode({ type: t }))).toThrow(`unknown message type "${t}"`);
    expect(() => parseMessage(encode({ type: 'stepDone', step: 1 }))).toThrow(/stepDone: lossSum: Required/);
    expect(() => parseMessage(encode({ type: 'step', step: -1, epoch: 0, lr: 0.1, globalBatch: 4 }, [new Int32Array(1)]))).toThrow(/step: step/);
    expect(() => parseMessage(encode({ type: 'step', step: 1, epoch: 0, lr: 0.1, globalBatch: 4 }))).toThrow(/expected 1 tensors, got 0/);
    const ok = parseMessage(encode({ type: 'step', step: 1, epoch: 0, lr: 0.1, globalBatch: 4 }, [new Int32Array([3, 4])]));
    expect(ok.header).toMatchObject({ type: 'step', step: 1 });
  });
});

describe('control plane', () => {
  it('drops and counts malformed messages, logs the peer, and keeps serving', async () => {
    const { hub, connect } = memoryHub();
    const lines: string[] = [];
    const log = makeLogger({ json: false });
    log.warn = ((obj: unknown, msg: string) => void lines.push(`${msg} ${JSON.stringify(obj)}`)) as typeof log.warn;
    const control = new ControlPlane(hub, log);
    const loop = control.run();
    const peer = connect('peer-7');
    await peer.send([new Uint8Array([1, 2, 3])]);
    await peer.send(encode({ type: 'stepDone', step: 'x' }));
    await peer.send(encode({ type: 'evalDone', id: 0, lossSum: 1, count: 2, counts: { correct: 1 } }));
    const m = await control.expect('peer-7', 'evalDone');
    expect(m.header.count).toBe(2);
    expect(control.dropped).toBe(2);
    expect(lines.join('\n')).toMatch(/dropped a malformed message .*peer-7/);
    control.close();
    await loop;
  });

  it('a worker-reported failure rejects what is awaited, naming the worker', async () => {
    const { hub, connect } = memoryHub();
    const control = new ControlPlane(hub, makeLogger({}));
    control.describe = (p) => `worker #3 (${p})`;
    const loop = control.run();
    const waiting = control.expect('w', 'stepDone');
    await connect('w').send(encode({ type: 'failed', message: 'out of memory' }));
    await expect(waiting).rejects.toBeInstanceOf(WorkerFailedError);
    await expect(waiting).rejects.toThrow('worker #3 (w) failed: out of memory');
    await expect(control.expect('w', 'evalDone')).rejects.toThrow(/out of memory/);
    control.close();
    await loop;
  });
});
