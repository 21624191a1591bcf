/**
 * A benchmark process, driven by the parent over IPC: a ring peer running
 * RingReducer over real ZeroMQ, a ps shard or a ps worker (PsReducer), or
 * one end of a raw PUSH/PULL pair.
 */
import * as zmq from 'zeromq';
import { PsShard } from '../src/ps/shard.js';
import { bindPull, bindRouter, connectDealer, ringLink } from '../src/wire/zmq-transport.js';
import { PsReducer } from '../src/worker/reducers/ps.js';
import type { GradientReducer } from '../src/worker/reducers/reducer.js';
import { RingReducer } from '../src/worker/reducers/ring.js';
import type { ClusterKey } from '../src/wire/cluster-key.js';
import { hostMemory } from '../src/worker/host-memory.js';
import { HOST_SLOT_FLOATS, HostSum } from '../src/worker/host-sum.js';
import { Sealer, sealedChannel, workerId } from '../src/wire/frame-seal.js';

/** How a bench ring's links are protected (bench/security.ts): in clear, sealed with a session key, or CURVE-encrypted. */
export type LinkSecurity = { mode: 'clear' } | { mode: 'sealed'; sessionKey: string } | { mode: 'encrypted'; key: ClusterKey };

export type PeerCommand =
  | { cmd: 'bind'; security?: LinkSecurity }
  | { cmd: 'ring'; rank: number; size: number; right: string; bytes: number; iters: number; warmup: number; chunkBytes: number; security?: LinkSecurity }
  | { cmd: 'host'; rank: number; size: number; name: string; bytes: number; iters: number; warmup: number }
  | { cmd: 'psServe'; workers: number }
  | { cmd: 'psReduce'; rank: number; size: number; shards: string[]; bytes: number; iters: number; warmup: number }
  | { cmd: 'pull'; bytes: number; messages: number }
  | { cmd: 'push'; endpoint: string; bytes: number; messages: number; chunkBytes: number }
  | { cmd: 'exit' };

const send = (m: unknown) => process.send!(m);

/** Checks one all-reduce (every rank contributes rank+1), then times `iters` of them: seconds each. */
async function timeAllReduce(r: Pick<GradientReducer, 'allReduce'>, m: { rank: number; size: number; bytes: number; iters: number; warmup: number }): Promise<number> {
  const buf = new Float32Array(m.bytes / 4);
  buf.fill(m.rank + 1);
  await r.allReduce(buf);
  const want = (m.size * (m.size + 1)) / 2;
  if (buf[0] !== want || buf[buf.length - 1] !== want) throw new Error(`sum wrong: ${buf[0]} (want ${want})`);
  buf.fill(0); // zeros stay zeros: a steady buffer for timing, same work per element
  for (let i = 0; i < m.warmup; i++) await r.allReduce(buf);
  const t0 = performance.now();
  for (let i = 0; i < m.iters; i++) await r.allReduce(buf);
  return (performance.now() - t0) / 1000 / m.iters;
}
let bound: Awaited<ReturnType<typeof bindPull>> | undefined;

process.on('message', async (m: PeerCommand) => {
  try {
    if (m.cmd === 'bind') {
      bound = await bindPull('tcp://127.0.0.1:*', m.security?.mode === 'encrypted' ? m.security.key : undefined);
      send({ endpoint: bound.endpoint });
    } else if (m.cmd === 'ring') {
      const sec = m.security ?? { mode: 'clear' };
      let link = ringLink(bound!, m.right, undefined, sec.mode === 'encrypted' ? sec.key : undefined);
      if (sec.mode === 'sealed') link = sealedChannel(link, new Sealer(sec.sessionKey, workerId(m.rank)), { to: workerId((m.rank + 1) % m.size), from: workerId((m.rank - 1 + m.size) % m.size) }, (r) => { throw new Error(r); });
      const ring = new RingReducer({ rank: m.rank, size: m.size, link, chunkBytes: m.chunkBytes });
      send({ seconds: await timeAllReduce(ring, m) });
    } else if (m.cmd === 'host') {
      const memory = hostMemory();
      if (!memory) throw new Error('the shared-memory addon is not built (npm run build)');
      const host = new HostSum({ memory, name: m.name, rank: m.rank, size: m.size, slotFloats: Math.min(m.bytes / 4, HOST_SLOT_FLOATS), timeoutMs: 60_000, ended: () => false });
      try {
        send({ seconds: await timeAllReduce({ allReduce: async (buf) => void host.sum(buf) }, m) });
      } finally {
        host.close();
      }
    } else if (m.cmd === 'psServe') {
      // A summing shard: the all-reduce path of the ps strategy (no parameters needed).
      const hub = await bindRouter('tcp://127.0.0.1:*');
      void new PsShard(hub, { index: 0, workers: m.workers, optimizer: { name: 'sgd', lr: 0 }, initial: new Float32Array(0) }).serve();
      send({ endpoint: hub.endpoint });
    } else if (m.cmd === 'psReduce') {
      const shards = m.shards.map((e) => ({ channel: connectDealer(e, `bench-${m.rank}`), offset: 0, length: 0 }));
      send({ seconds: await timeAllReduce(new PsReducer({ rank: m.rank, shards }), m) });
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
