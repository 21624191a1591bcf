/**
 * `npm run bench -- allreduce [--strategy ps]`: all-reduce of 1, 4 and 16 MiB
 * float32 across 2 and 4 worker processes on this machine: through shared
 * memory (ring-shm, src/worker/host-sum.ts, what workers on one machine use),
 * by the ring over ZeroMQ (ring-tcp, what workers on several machines use)
 * and, with --strategy ps, also through K = 1 and 2 parameter-server
 * shard processes (the same table, one run). Baseline: raw ZeroMQ PUSH/PULL
 * between two processes moving the same bytes, measured in the same run.
 * Bus bandwidth = bytes · 2(N−1)/N / time (NCCL's definition), comparable
 * across N and strategies; the ratio is busbw / raw bandwidth. Where
 * OpenMPI is installed, its MPI_Allreduce over TCP loopback and over shared
 * memory is measured in the same run (bench/mpi.ts), with the ring's busbw
 * against MPI-TCP's. `--json`:
 * one JSON object per row, {strategy, workers, bytes, seconds, busbw,
 * rawBusbw}, bandwidths in bytes per second.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LinkSecurity, PeerCommand } from './peer.js';
import { openMpi } from './mpi.js';
import { hostMemory, hostMemoryMissing } from '../src/worker/host-memory.js';

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

/** Seconds per all-reduce of `bytes` by a ring of `n` processes, its links protected as `security` says. */
export async function ringTime(n: number, bytes: number, chunkBytes: number, security: LinkSecurity = { mode: 'clear' }): Promise<number> {
  const peers = Array.from({ length: n }, startPeer);
  try {
    const eps = await Promise.all(peers.map((p) => p.ask<{ endpoint: string }>({ cmd: 'bind', security })));
    const res = await Promise.all(
      peers.map((p, rank) => p.ask<{ seconds: number }>({ cmd: 'ring', rank, size: n, right: eps[(rank + 1) % n].endpoint, bytes, iters: itersFor(bytes), warmup: 3, chunkBytes, security })),
    );
    return Math.max(...res.map((r) => r.seconds));
  } finally {
    stopAll(peers);
  }
}

/** Seconds per all-reduce of `bytes` by `n` processes through shared memory (src/worker/host-sum.ts). */
async function hostTime(n: number, bytes: number): Promise<number> {
  const peers = Array.from({ length: n }, startPeer);
  const name = `/dtrain-bench-${process.pid}-${n}-${bytes}`;
  try {
    const res = await Promise.all(peers.map((p, rank) => p.ask<{ seconds: number }>({ cmd: 'host', rank, size: n, name, bytes, iters: itersFor(bytes), warmup: 3 })));
    return Math.max(...res.map((r) => r.seconds));
  } finally {
    stopAll(peers);
  }
}

/** All-reduce through K summing shards, each in its own process: seconds per all-reduce. */
async function psTime(n: number, k: number, bytes: number): Promise<number> {
  const shards = Array.from({ length: k }, startPeer);
  const workers = Array.from({ length: n }, startPeer);
  try {
    const eps = await Promise.all(shards.map((p) => p.ask<{ endpoint: string }>({ cmd: 'psServe', workers: n })));
    const res = await Promise.all(
      workers.map((p, rank) => p.ask<{ seconds: number }>({ cmd: 'psReduce', rank, size: n, shards: eps.map((e) => e.endpoint), bytes, iters: itersFor(bytes), warmup: 3 })),
    );
    return Math.max(...res.map((r) => r.seconds));
  } finally {
    stopAll([...shards, ...workers]);
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

function option(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].split('=')[1] : args[i + 1];
}

export async function benchAllreduce(args: string[]): Promise<void> {
  const chunkBytes = Number(option(args, '--chunk-mib') ?? 4) * MiB;
  const strategy = option(args, '--strategy') ?? 'ring';
  if (strategy !== 'ring' && strategy !== 'ps') throw new Error(`--strategy must be ring or ps (ps adds its rows to the ring's), got ${strategy}`);
  const json = args.includes('--json');
  const sizes = [1, 4, 16].map((m) => m * MiB);
  const workers = [2, 4];
  if (!json) {
    console.log(`all-reduce of float32 between processes on this machine. ring-shm: through shared memory, as dtrain's workers on one machine sum (cluster.transport auto); ring-tcp: the ring over ZeroMQ (tcp://127.0.0.1, chunks of ${chunkBytes / MiB} MiB), as across machines. Baseline: raw ZeroMQ PUSH/PULL between two processes`);
    console.log('strategy  workers  size     time ms   busbw GB/s   raw zmq GB/s   busbw/raw');
  }
  const raw = new Map<number, number>();
  for (const s of sizes) raw.set(s, await rawBandwidth(s, chunkBytes));
  const row = (name: string, n: number, s: number, t: number) => {
    const busbw = (s * (2 * (n - 1))) / n / t;
    const r = raw.get(s)!;
    // --json: one object per row, busbw in bytes per second (rawBusbw: the PUSH/PULL baseline's).
    if (json) return console.log(JSON.stringify({ strategy: name.replace(/\s+/g, ' ').trim(), workers: n, bytes: s, seconds: t, busbw, rawBusbw: r }));
    console.log(
      `${name.padEnd(8)}  ${String(n).padStart(7)}  ${`${s / MiB} MiB`.padEnd(7)}  ${(t * 1000).toFixed(2).padStart(8)}   ${(busbw / 1e9).toFixed(2).padStart(10)}   ${(r / 1e9).toFixed(2).padStart(12)}   ${(busbw / r).toFixed(2).padStart(9)}`,
    );
  };
  const shm = new Map<string, number>();
  const tcp = new Map<string, number>();
  const host = hostMemory() !== undefined;
  if (!host && !json) console.log(`(no ring-shm rows: ${hostMemoryMissing()})`);
  for (const n of workers)
    for (const s of sizes) {
      if (host) {
        shm.set(`${n}/${s}`, await hostTime(n, s));
        row('ring-shm', n, s, shm.get(`${n}/${s}`)!);
      }
      tcp.set(`${n}/${s}`, await ringTime(n, s, chunkBytes));
      row('ring-tcp', n, s, tcp.get(`${n}/${s}`)!);
    }
  const mpi = openMpi();
  if (mpi) {
    try {
      const against = { shmTcp: [] as string[], shmShm: [] as string[], tcpTcp: [] as string[] };
      for (const n of workers)
        for (const s of sizes) {
          const key = `${n}/${s}`;
          const label = `${n} workers, ${s / MiB} MiB`;
          const mpiTcp = mpi.time(n, s, itersFor(s), 'tcp');
          const mpiShm = mpi.time(n, s, itersFor(s), 'shm');
          row('mpi-tcp', n, s, mpiTcp);
          row('mpi-shm', n, s, mpiShm);
          // busbw ratios: same bytes, so the inverse ratio of the times
          if (host) against.shmTcp.push(`${label}: ${(mpiTcp / shm.get(key)!).toFixed(2)}`);
          if (host) against.shmShm.push(`${label}: ${(mpiShm / shm.get(key)!).toFixed(2)}`);
          against.tcpTcp.push(`${label}: ${(mpiTcp / tcp.get(key)!).toFixed(2)}`);
        }
      if (!json) {
        if (host) console.log(`ring-shm busbw / MPI-TCP busbw (≥ 1: as fast): ${against.shmTcp.join('; ')}`);
        if (host) console.log(`ring-shm busbw / MPI-shm busbw: ${against.shmShm.join('; ')}`);
        console.log(`ring-tcp busbw / MPI-TCP busbw: ${against.tcpTcp.join('; ')}`);
      }
    } finally {
      mpi.close();
    }
  } else if (!json) console.log('(no MPI rows: install openmpi-bin and libopenmpi-dev for OpenMPI\'s MPI_Allreduce beside the ring)');
  if (strategy !== 'ps') return;
  for (const k of [1, 2]) for (const n of workers) for (const s of sizes) row(`ps k=${k}`, n, s, await psTime(n, k, s));
}
