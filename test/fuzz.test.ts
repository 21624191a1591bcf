/**
 * Fuzzing each socket type while a job runs (real processes, 127.0.0.1):
 * 10,000 frames each to the coordinator's control socket, a ps shard's
 * server socket and a worker's ring socket — random bytes, random
 * multi-part messages, headers of every message type with fields of random
 * types, and real messages with bytes flipped (ring messages carry a
 * random seal). Nothing crashes and the job's weights are, bit for bit,
 * those of an undisturbed run. Seeded: a failure repeats.
 */
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, describe, expect, it } from 'vitest';
import { encode } from '../src/wire/codec.js';
import { headerSchemas } from '../src/wire/messages.js';
import { SEAL_BYTES } from '../src/wire/frame-seal.js';
import { freePort, killStarted, runCli, startCli, tempDir, writeJob } from './helpers/cli.js';
import { sleep, until, withDeadline } from './helpers/fake-peer.js';
import { joinedSoFar, weightsOf } from './helpers/runs.js';
import { rng } from './helpers/seeded-rng.js';
import { existsSync, readFileSync } from 'node:fs';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const FRAMES = 10_000;


const TYPES = [...Object.keys(headerSchemas), 'toString', '__proto__', 'constructor', ''];

/** One fuzz message: frames a parser must refuse without harm. */
function fuzzMessage(r: () => number, sealed: boolean): Buffer[] {
  const int = (n: number) => Math.floor(r() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const value = (): unknown => [() => int(1e9) - 5e8, () => r(), () => 'x'.repeat(int(40)), () => null, () => [int(3)], () => ({ a: int(5) }), () => -1, () => Number.MAX_SAFE_INTEGER, () => true][int(9)]();
  let frames: Buffer[];
  switch (int(4)) {
    case 0:
      frames = [bytes(int(600))];
      break;
    case 1:
      frames = Array.from({ length: 1 + int(5) }, () => bytes(int(300)));
      break;
    case 2: {
      const header: Record<string, unknown> = { type: TYPES[int(TYPES.length)] };
      for (const k of ['op', 'step', 'chunk', 'rank', 'id', 'index', 'message', 'paramsCrc', 'lossSum', 'count', 'counts', 'endpoint', 'role', 'reason', 't']) if (r() < 0.4) header[k] = value();
      frames = encode(header, r() < 0.5 ? [new Float32Array(int(64)).fill(r() * 1e6)] : []);
      break;
    }
    default: {
      const frames0 = encode({ type: TYPES[int(TYPES.length)], op: int(4), step: int(4), chunk: int(2), rank: int(3) }, [new Float32Array(1 + int(32))]);
      for (let i = 0; i < 1 + int(6); i++) {
        const f = frames0[int(frames0.length)];
        if (f.length > 0) f[int(f.length)] ^= 1 + int(255);
      }
      frames = frames0;
    }
  }
  return sealed ? [...frames, bytes(SEAL_BYTES)] : frames;
}

/**
 * Sends FRAMES fuzz messages to `endpoint` from a socket of `kind`; returns
 * how many left. It stops at the first send that fails (the peer is gone:
 * each further send would wait its 1 s timeout) and once `over()`.
 */
async function fuzz(kind: 'dealer' | 'push', endpoint: string, seed: number, sealed = false, over: () => boolean = () => false): Promise<number> {
  const s = kind === 'dealer' ? new zmq.Dealer({ linger: 0, sendTimeout: 1000 }) : new zmq.Push({ linger: 0, sendTimeout: 1000 });
  s.connect(endpoint);
  const r = rng(seed);
  let sent = 0;
  try {
    for (let i = 0; i < FRAMES && !over(); i++) {
      const ok = await s.send(fuzzMessage(r, sealed)).then(
        () => true,
        () => false,
      );
      if (!ok) break;
      sent++;
      if (i % 200 === 0) await sleep(1);
    }
  } finally {
    s.close();
  }
  return sent;
}

/**
 * Well-formed requests a stranger sends a ps shard as soon as it serves:
 * psUpdate and psSum for every rank, every 2 ms, until `over()`. Before
 * the shard knew its workers' connections, the first of these to arrive
 * took the rank, and the real worker was refused. Returns how many it sent.
 */
async function forgeRanks(endpoint: string, workers: number, length: number, over: () => boolean): Promise<number> {
  const s = new zmq.Dealer({ linger: 0, sendTimeout: 1000 });
  s.connect(endpoint);
  let sent = 0;
  try {
    for (let op = 0; !over(); op++) {
      for (let rank = 0; rank < workers; rank++) {
        for (const header of [{ type: 'psUpdate', op: op % 4, rank, step: 0, lr: 1e6, scale: 1 }, { type: 'psSum', op: op % 4, rank }]) {
          if (!(await s.send(encode(header, [new Float32Array(length).fill(1e3)])).then(() => true, () => false))) return sent;
          sent++;
        }
      }
      await sleep(2);
    }
  } finally {
    s.close();
  }
  return sent;
}

/** The first `n` members of `what` to join the run in `out`, once they have. */
async function joinedMembers(out: string, what: 'worker' | 'ps shard', n: number) {
  await until(() => joinedSoFar(out, what).length >= n, `${n} ${what}(s)`, 30_000);
  return joinedSoFar(out, what);
}

const job = (name: string, cluster: Record<string, unknown>) => ({
  name,
  seed: 21,
  data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [16] },
  train: { epochs: 10, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, logEvery: 10 },
  // The flood competes with the job for the 2 cores: a heartbeat late by seconds must not count as a
  // lost member here (that is test/recovery's subject), or the coordinator would wait for a replacement.
  cluster: { backend: 'cpu', heartbeatTimeoutMs: 30_000, ...cluster },
});

describe('fuzzing every socket type during a job', () => {
  it('the control and ps sockets (a loopback cluster without a key, where anyone local reaches them): the job ends as an undisturbed run', async () => {
    const file = writeJob(tmp.dir, 'ps.json', job('fuzz-ps', { workers: 2, strategy: 'ps', ps: { shards: 1 } }));
    const ref = await runCli(['run', file, '--out', join(tmp.dir, 'ref-ps'), '--no-progress']);
    expect(ref.code, ref.stderr).toBe(0);
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, 'fuzz-ps');
    const coordinator = startCli(['coordinator', file, '--bind', endpoint, '--out', out, '--no-progress']);
    startCli(['ps', '--connect', endpoint, '--log-file', join(tmp.dir, 'ps.jsonl')]);
    const [shard] = await joinedMembers(out, 'ps shard', 1);
    let over = false;
    void coordinator.done.finally(() => (over = true));
    const control = fuzz('dealer', endpoint, 1, false, () => over);
    // From the first moment the shard serves its slice (it binds its socket again for it), before any worker's first request.
    const psLog = join(tmp.dir, 'ps.jsonl');
    const serving = () => existsSync(psLog) && readFileSync(psLog, 'utf8').includes('"msg":"serving"');
    // -1: the shard was never seen serving (the assertion below says so).
    const forged = until(serving, 'the shard serving', 30_000).then(
      () => forgeRanks(shard.endpoint, 2, 1, () => over),
      () => -1,
    );
    for (let i = 0; i < 2; i++) startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, `pw${i}.jsonl`)]);
    await joinedMembers(out, 'worker', 2);
    const server = fuzz('dealer', shard.endpoint, 2, false, () => over);
    const r = await withDeadline(coordinator.done, 90_000, 'the fuzzed ps job');
    const [a, b, f] = await Promise.all([control, server, forged]);
    console.log(`fuzz: ${a} frames to the control socket, ${b} to the shard's, ${f} forged requests for the workers' ranks, during the job`);
    expect(r.code, r.stderr).toBe(0);
    expect(a).toBe(FRAMES);
    expect(b).toBe(FRAMES);
    expect(f).toBeGreaterThan(0);
    expect(readFileSync(join(tmp.dir, 'ps.jsonl'), 'utf8')).toMatch(/not one of the job's workers/);
    expect(await weightsOf(out)).toEqual(await weightsOf(join(tmp.dir, 'ref-ps')));
  });

  it("the ring sockets of a default (keyed, sealed) dtrain run: the job ends as an undisturbed run", async () => {
    const file = writeJob(tmp.dir, 'ring.json', job('fuzz-ring', { workers: 2, transport: 'tcp' }));
    const ref = await runCli(['run', file, '--out', join(tmp.dir, 'ref-ring'), '--no-progress']);
    expect(ref.code, ref.stderr).toBe(0);
    const out = join(tmp.dir, 'fuzz-ring');
    const run = startCli(['run', file, '--out', out, '--no-progress']);
    const workers = await joinedMembers(out, 'worker', 2);
    const sent = await Promise.all(workers.map((w, i) => fuzz('push', w.endpoint, 10 + i, true)));
    const r = await withDeadline(run.done, 120_000, 'the fuzzed ring job');
    console.log(`fuzz: ${sent.join(' and ')} frames to the two ring sockets, during the job`);
    expect(r.code, r.stderr).toBe(0);
    expect(Math.min(...sent)).toBe(FRAMES);
    expect(await weightsOf(out)).toEqual(await weightsOf(join(tmp.dir, 'ref-ring')));
    const dropped = readFileSync(join(out, 'log.jsonl'), 'utf8');
    expect(dropped).toMatch(/not sealed with the session key/);
  });
});
