/**
 * A benchmark process, driven by the parent over IPC: a ring peer running
 * RingReducer over real ZeroMQ, or one end of a raw PUSH/PULL pair.
 */
import * as zmq from 'zeromq';
import { bindPull, ringLink } from '../src/shared/transport/zmq.js';
import { RingReducer } from '../src/worker/reducers/ring.js';

export type PeerCommand =
  | { cmd: 'bind' }
  | { cmd: 'ring'; rank: number; size: number; right: string; bytes: number; iters: number; warmup: number; chunkBytes: number }
  | { cmd: 'pull'; bytes: number; messages: number }
  | { cmd: 'push'; endpoint: string; bytes: number; messages: number; chunkBytes: number }
  | { cmd: 'exit' };

const send = (m: unknown) => process.send!(m);
let bound: Awaited<ReturnType<typeof bindPull>> | undefined;

process.on('message', async (m: PeerCommand) => {
  try {
    if (m.cmd === 'bind') {
      bound = await bindPull('tcp://127.0.0.1:*');
      send({ endpoint: bound.endpoint });
    } else if (m.cmd === 'ring') {
      const ring = new RingReducer({ rank: m.rank, size: m.size, link: ringLink(bound!.pull, m.right), chunkBytes: m.chunkBytes });
      const buf = new Float32Array(m.bytes / 4);
      // Correctness first: every rank contributes rank+1.
      buf.fill(m.rank + 1);
      await ring.allReduce(buf);
      const want = (m.size * (m.size + 1)) / 2;
      if (buf[0] !== want || buf[buf.length - 1] !== want) throw new Error(`ring sum wrong: ${buf[0]} (want ${want})`);
      buf.fill(0); // zeros stay zeros: a steady buffer for timing, same work per element
      for (let i = 0; i < m.warmup; i++) await ring.allReduce(buf);
      const t0 = performance.now();
      for (let i = 0; i < m.iters; i++) await ring.allReduce(buf);
      send({ seconds: (performance.now() - t0) / 1000 / m.iters });
    } else if (m.cmd === 'pull') {
      let got = 0;
      let t0 = 0;
      // Timed from the first message to the last: the link's steady bandwidth.
      for (let i = 0; i < m.messages; i++) {
        const [f] = await bound!.pull.receive();
        if (i === 0) t0 = performance.now();
        got += f.length;
      }
      send({ seconds: (performance.now() - t0) / 1000, bytes: got });
    } else if (m.cmd === 'push') {
      const push = new zmq.Push({ linger: 0, sendHighWaterMark: 0 });
      push.connect(m.endpoint);
      const payload = Buffer.alloc(m.chunkBytes < m.bytes ? m.chunkBytes : m.bytes, 1);
      for (let i = 0; i < m.messages; i++) await push.send(payload);
      send({ sent: true });
    } else if (m.cmd === 'exit') {
      process.exit(0);
    }
  } catch (err) {
    send({ error: (err as Error).message });
  }
});
