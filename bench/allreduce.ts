/**
 * `npm run bench -- allreduce`: ring all-reduce of 1, 4 and 16 MiB float32
 * across 2 and 4 worker processes over ZeroMQ on this machine, against raw
 * ZeroMQ PUSH/PULL between two processes moving the same bytes, measured in
 * the same run. Bus bandwidth = bytes · 2(N−1)/N / time (NCCL's definition),
 * comparable across N; the ratio is busbw / raw bandwidth.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerCommand } from './peer.js';

const PEER = fileURLToPath(new URL('./peer.js', import.meta.url));
const MiB = 1024 * 1024;

interface Peer {
  child: ChildProcess;
  ask<T>(m: PeerCommand): Promise<T>;
}

function startPeer(): Peer {
  const child = fork(PEER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(m: PeerCommand) =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (r: T & { error?: string }) => (r.error ? reject(new Error(r.error)) : resolve(r)));
      child.send(m);
    });
  return { child, ask };
}

function stopAll(peers: Peer[]): void {
  for (const p of peers) if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

const itersFor = (bytes: number) => Math.max(5, Math.round((64 * MiB) / bytes));

async function ringTime(n: number, bytes: number, chunkBytes: number): Promise<number> {
  const peers = Array.from({ length: n }, startPeer);
  try {
    const eps = await Promise.all(peers.map((p) => p.ask<{ endpoint: string }>({ cmd: 'bind' })));
    const res = await Promise.all(
      peers.map((p, rank) => p.ask<{ seconds: number }>({ cmd: 'ring', rank, size: n, right: eps[(rank + 1) % n].endpoint, bytes, iters: itersFor(bytes), warmup: 3, chunkBytes })),
    );
    return Math.max(...res.map((r) => r.seconds));
  } finally {
    stopAll(peers);
  }
}

/** Raw PUSH→PULL bandwidth for messages of `bytes` (chunked like the ring), bytes per second. */
async function rawBandwidth(bytes: number, chunkBytes: number): Promise<number> {
  const [puller, pusher] = [startPeer(), startPeer()];
  try {
    const { endpoint } = await puller.ask<{ endpoint: string }>({ cmd: 'bind' });
    const perMessage = Math.min(bytes, chunkBytes);
    const messages = Math.max(20, Math.round((256 * MiB) / perMessage));
    const got = puller.ask<{ seconds: number; bytes: number }>({ cmd: 'pull', bytes, messages });
    await pusher.ask({ cmd: 'push', endpoint, bytes, messages, chunkBytes });
    const r = await got;
    return (r.bytes - perMessage) / r.seconds; // the first message starts the clock
  } finally {
    stopAll([puller, pusher]);
  }
}

export async function benchAllreduce(args: string[]): Promise<void> {
  const chunkBytes = Number(args.find((a) => a.startsWith('--chunk-mib='))?.split('=')[1] ?? 4) * MiB;
  const sizes = [1, 4, 16].map((m) => m * MiB);
  const workers = [2, 4];
  console.log(`ring all-reduce over ZeroMQ (tcp://127.0.0.1), float32, chunks of ${chunkBytes / MiB} MiB; baseline: raw ZeroMQ PUSH/PULL between two processes`);
  console.log('strategy  workers  size     time ms   busbw GB/s   raw zmq GB/s   busbw/raw');
  const raw = new Map<number, number>();
  for (const s of sizes) raw.set(s, await rawBandwidth(s, chunkBytes));
  for (const n of workers) {
    for (const s of sizes) {
      const t = await ringTime(n, s, chunkBytes);
      const busbw = (s * (2 * (n - 1))) / n / t;
      const r = raw.get(s)!;
      console.log(
        `ring      ${String(n).padStart(7)}  ${`${s / MiB} MiB`.padEnd(7)}  ${(t * 1000).toFixed(2).padStart(8)}   ${(busbw / 1e9).toFixed(2).padStart(10)}   ${(r / 1e9).toFixed(2).padStart(12)}   ${(busbw / r).toFixed(2).padStart(9)}`,
      );
    }
  }
}
