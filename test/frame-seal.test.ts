/**
 * Data-plane seals (src/wire/frame-seal.ts): a message passes only whole,
 * once, from the member it claims, to the member it was sealed for, under
 * the session's key. The tag is checked against GCM computed here directly
 * over the concatenated authenticated data.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoryPair } from '../src/wire/memory-transport.js';
import { newSessionKey, Sealer, sealedChannel, SEAL_BYTES, shardId, workerId } from '../src/wire/frame-seal.js';

const frames = () => [Buffer.from('{"type":"ring"}'), new Uint8Array(new Float32Array([1, 2, 3, 4.5]).buffer), Buffer.alloc(0)];

describe('frame seals', () => {
  it('open what a member sealed, and the tag is GCM over header, frame lengths and frames', () => {
    const key = newSessionKey();
    const a = new Sealer(key, workerId(0));
    const b = new Sealer(key, workerId(1));
    const sealed = a.seal(frames(), workerId(1));
    expect(sealed).toHaveLength(4);
    const seal = Buffer.from(sealed[3]);
    expect(seal.length).toBe(SEAL_BYTES);
    // Independent: one GCM pass over the concatenation, nonce = sender ‖ counter.
    const header = seal.subarray(0, 16);
    const lengths = Buffer.alloc(12);
    frames().forEach((f, i) => lengths.writeUInt32BE(f.byteLength, 4 * i));
    const gcm = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), Buffer.concat([header.subarray(0, 4), header.subarray(8, 16)]));
    gcm.setAAD(Buffer.concat([header, lengths, ...frames().map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength))]));
    gcm.final();
    expect(seal.subarray(16).equals(gcm.getAuthTag())).toBe(true);
    const opened = b.open(sealed, workerId(0));
    expect(typeof opened).not.toBe('string');
    if (typeof opened === 'string') return;
    expect(opened.sender).toBe(0);
    expect(opened.frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames().map((f) => Buffer.from(f).toString('hex')));
  });

  it('refuse a flipped bit, a moved frame boundary, another key, another destination, another sender, a replay and no seal', () => {
    const key = newSessionKey();
    const a = new Sealer(key, workerId(0));
    const b = new Sealer(key, workerId(1));
    const good = () => a.seal(frames(), workerId(1));

    const flipped = good();
    const data = Buffer.from(flipped[1]);
    data[5] ^= 1;
    expect(b.open([flipped[0], data, flipped[2], flipped[3]])).toBe('not sealed with the session key');

    const moved = good();
    const joined = Buffer.concat([Buffer.from(moved[0]), Buffer.from(moved[1])]);
    expect(b.open([joined.subarray(0, 10), joined.subarray(10), moved[2], moved[3]])).toBe('not sealed with the session key');

    const stranger = new Sealer(newSessionKey(), workerId(0));
    expect(b.open(stranger.seal(frames(), workerId(1)))).toBe('not sealed with the session key');

    expect(b.open(a.seal(frames(), shardId(0)))).toMatch(/sealed for member 1073741824/);
    expect(b.open(new Sealer(key, workerId(2)).seal(frames(), workerId(1)), workerId(0))).toMatch(/from member 2, expected 0/);

    const once = good();
    expect(typeof b.open(once)).not.toBe('string');
    expect(b.open(once)).toMatch(/replayed/);
    // An older message after a newer one is a replay too.
    const older = good();
    expect(typeof b.open(good())).not.toBe('string');
    expect(b.open(older)).toMatch(/replayed/);

    expect(b.open(frames())).toBe('not sealed with the session key');
    expect(b.open([randomBytes(SEAL_BYTES)])).toBe('not sealed with the session key');
  });

  it('a sealed channel drops what fails and delivers what follows', async () => {
    const key = newSessionKey();
    const [left, right] = memoryPair();
    const drops: string[] = [];
    const sender = sealedChannel(left, new Sealer(key, workerId(0)), { to: workerId(1), from: workerId(1) }, (r) => drops.push(r));
    const receiver = sealedChannel(right, new Sealer(key, workerId(1)), { to: workerId(0), from: workerId(0) }, (r) => drops.push(r));
    await left.send([Buffer.from('junk')]);
    await left.send(new Sealer(newSessionKey(), workerId(0)).seal([Buffer.from('other key')], workerId(1)));
    await sender.send([Buffer.from('hello')]);
    const got = await receiver.receive();
    expect(Buffer.from(got[0]).toString()).toBe('hello');
    expect(drops).toEqual(['not sealed with the session key', 'not sealed with the session key']);
    sender.close();
    receiver.close();
  });
});
