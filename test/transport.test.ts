import { connectDealer, bindRouter, bindPull, ringLink } from '../src/shared/transport/zmq.js';
import { memoryPair, memoryRing } from '../src/shared/transport/memory.js';
import { RingReducer } from '../src/worker/reducers/ring.js';
import { channelConformance } from './conformance/channel-suite.js';
import { reducerConformance } from './conformance/reducer-suite.js';
import type { Channel } from '../src/shared/transport/transport.js';

channelConformance('memory pair', async () => {
  const [a, b] = memoryPair();
  return { a, b, close: () => { a.close(); b.close(); } };
});

channelConformance('zeromq push/pull ring link', async () => {
  const { endpoint, pull } = await bindPull('tcp://127.0.0.1:*');
  const { pull: pull2 } = await bindPull('tcp://127.0.0.1:*');
  const a = ringLink(pull2, endpoint);
  const b = ringLink(pull, endpoint);
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

reducerConformance('ring over memory', async (n, chunkBytes) => {
  const links = memoryRing(n);
  const reducers = links.map((link, rank) => new RingReducer({ rank, size: n, link, chunkBytes }));
  return { reducers, close: () => reducers.forEach((r) => r.close()) };
});

reducerConformance('ring over zeromq', async (n, chunkBytes) => {
  const pulls = await Promise.all(Array.from({ length: n }, () => bindPull('tcp://127.0.0.1:*')));
  const reducers = pulls.map(({ pull }, rank) => new RingReducer({ rank, size: n, link: ringLink(pull, pulls[(rank + 1) % n].endpoint), chunkBytes }));
  return { reducers, close: () => reducers.forEach((r) => r.close()) };
});
