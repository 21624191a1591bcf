import { connectDealer, bindRouter, bindPull, ringLink } from '../src/wire/zmq-transport.js';
import { memoryHub, memoryPair, memoryRing } from '../src/wire/memory-transport.js';
import { RingReducer } from '../src/worker/reducers/ring.js';
import { channelConformance } from './conformance/channel-suite.js';
import { reducerConformance } from './conformance/reducer-suite.js';
import { hubConformance } from './conformance/hub-suite.js';
import { encode } from '../src/wire/codec.js';
import { describe, expect, it } from 'vitest';
import type { Channel } from '../src/wire/transport.js';

channelConformance('memory pair', async () => {
  const [a, b] = memoryPair();
  return { a, b, close: () => { a.close(); b.close(); } };
});

channelConformance('zeromq push/pull ring link', async () => {
  const one = await bindPull('tcp://127.0.0.1:*');
  const two = await bindPull('tcp://127.0.0.1:*');
  const a = ringLink(two, one.endpoint);
  const b = ringLink(one, one.endpoint);
  return { a, b, close: () => { a.close(); b.close(); } };
});

channelConformance('zeromq dealer → router', async () => {
  const hub = await bindRouter('tcp://127.0.0.1:*');
  const a = connectDealer(hub.endpoint, 'peer-a');
  // The router side, seen as a channel to peer-a.
  const b: Channel = {
    send: (f) => hub.send('peer-a', f),
    receive: async () => (await hub.receive()).frames,
    close: () => hub.close(),
  };
  return { a, b, close: () => { a.close(); hub.close(); } };
});

reducerConformance('ring over memory', async (n, { chunkBytes, rule }) => {
  const links = memoryRing(n);
  const reducers = links.map((link, rank) => new RingReducer({ rank, size: n, link, chunkBytes, rule }));
  return { reducers, close: () => reducers.forEach((r) => r.close()) };
});

reducerConformance('ring over zeromq', async (n, { chunkBytes, rule }) => {
  const pulls = await Promise.all(Array.from({ length: n }, () => bindPull('tcp://127.0.0.1:*')));
  const reducers = pulls.map((pull, rank) => new RingReducer({ rank, size: n, link: ringLink(pull, pulls[(rank + 1) % n].endpoint), chunkBytes, rule }));
  return { reducers, close: () => reducers.forEach((r) => r.close()) };
});

hubConformance('memory hub', async () => {
  const { hub, connect } = memoryHub();
  return { hub, connect, close: () => hub.close() };
});

hubConformance('zeromq router', async () => {
  const hub = await bindRouter('tcp://127.0.0.1:*');
  return { hub, connect: (id) => connectDealer(hub.endpoint, id), close: () => hub.close() };
});

describe('ring reducer under bad input', () => {
  it('drops a stray malformed message, reports it, and completes the all-reduce', async () => {
    const links = memoryRing(3);
    const drops: string[] = [];
    const reducers = links.map((link, rank) => new RingReducer({ rank, size: 3, link, chunkBytes: 64, onDrop: (r) => drops.push(`${rank}: ${r}`) }));
    await links[0].send([new Uint8Array([0x85, 0xa1])]); // truncated msgpack: lands in rank 1's inbox ahead of the real chunks
    await links[2].send(encode({ type: 'ping', t: 1 })); // valid, but not a ring message: rank 0
    const bufs = [0, 1, 2].map((w) => Float32Array.from({ length: 100 }, (_, i) => i + w));
    await Promise.all(reducers.map((r, w) => r.allReduce(bufs[w])));
    for (const b of bufs) expect(b[10]).toBe(33);
    expect([...drops].sort()).toEqual(['0: ring: unexpected ping message', '1: ring: header is not msgpack']);
    reducers.forEach((r) => r.close());
  });

  it('fails loudly when peers disagree on the collective (out of step)', async () => {
    const links = memoryRing(2);
    const r0 = new RingReducer({ rank: 0, size: 2, link: links[0], chunkBytes: 1024 });
    // rank 1 speaks for a later collective (op 5) than rank 0 expects (op 0)
    await links[1].send(encode({ type: 'ring', op: 5, step: 0, chunk: 0 }, [new Float32Array(5)]));
    await expect(r0.allReduce(new Float32Array(10))).rejects.toThrow(/ring out of step: expected op 0 step 0 chunk 0/);
    r0.close();
  });
});
