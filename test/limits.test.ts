/**
 * Frame limits (real processes, 127.0.0.1): a 256 MiB frame sent to an idle
 * worker's ring socket, or to a ps shard's server socket before its job
 * starts, is refused by ZeroMQ before it is read — the process's memory
 * stays where it was, and the job then runs as usual. A frame under the
 * limit is taken in — read, found malformed and logged as dropped — so the
 * limit is what stops the large one. (Memory is checked only as an upper
 * bound: a garbage-collected heap can shrink while a small frame is read,
 * so growth is no proof that a frame was taken.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killStarted, startCli, tempDir, waitForOutput, writeJob } from './helpers/cli.js';
import { readKeyFile, writeKeyFile } from '../src/wire/cluster-key.js';
import { sleep, until, withDeadline } from './helpers/fake-peer.js';
import { joinedSoFar, members } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const MiB = 1024 * 1024;
/** How many frames a log says were read and dropped as malformed. */
const dropsIn = (log: string) => (log.match(/dropped a malformed message/g) ?? []).length;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** Sends one frame of `bytes` bytes to `endpoint` from a socket of `kind` (CURVE with `curve`'s keys), and closes it. */
async function sendFrame(kind: 'push' | 'dealer', endpoint: string, bytes: number, curve: Partial<zmq.SocketOptions<zmq.Dealer>> = {}): Promise<void> {
  const s = kind === 'push' ? new zmq.Push({ linger: 2000 }) : new zmq.Dealer({ linger: 2000, sendTimeout: 2000, ...curve });
  s.connect(endpoint);
  await s.send(Buffer.alloc(bytes, 7)).catch(() => undefined); // a CURVE server that refuses the handshake takes nothing
  await sleep(1500); // time to deliver, and for the receiver to refuse it
  s.close();
}

const job = (name: string, cluster: Record<string, unknown>) => ({
  name,
  data: { source: 'synthetic', kind: 'blobs', samples: 400, features: 4, classes: 3 },
  model: { zoo: 'mlp', hidden: [8] },
  train: { epochs: 1, batchSize: 20 },
  cluster: { backend: 'cpu', joinTimeoutMs: 60_000, ...cluster },
});

describe('frame limits', () => {
  it("an idle worker's ring socket: a 256 MiB frame is refused unread, while a 12 MiB one (under the limit) is taken in; the job then runs", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, 'ring');
    const coordinator = startCli(['coordinator', writeJob(tmp.dir, 'ring.json', job('ring-limit', { workers: 2, transport: 'tcp' })), '--bind', endpoint, '--out', out, '--no-progress']);
    const first = startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'w0.jsonl')]);
    await until(() => joinedSoFar(out, 'worker').length === 1, 'the first worker', 30_000);
    const ring = joinedSoFar(out, 'worker')[0].endpoint;
    await sleep(1000); // settled after start-up
    const before = rssOf(first.child.pid!);
    await sendFrame('push', ring, 256 * MiB);
    const grew = rssOf(first.child.pid!) - before;
    // The comparison can fail: a frame under the limit waits in the socket's queue, and is read (and dropped as malformed) once the ring starts.
    await sendFrame('push', ring, 12 * MiB);
    console.log(`ring socket: RSS grew ${(grew / MiB).toFixed(1)} MiB after a 256 MiB frame`);
    expect(grew).toBeLessThan(64 * MiB);
    startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'w1.jsonl')]);
    const r = await withDeadline(coordinator.done, 60_000, 'the job');
    expect(r.code, r.stderr).toBe(0);
    expect(dropsIn(readFileSync(join(tmp.dir, 'w0.jsonl'), 'utf8')), 'frames the first worker read and dropped').toBe(1);
  });

  it("the coordinator's control socket: 256 MiB frames are refused unread, by a keyed one at the handshake and by an unkeyed one at its limit (12 bytes a weight), while an 8 MiB frame under the limit is taken in", async () => {
    const key = join(tmp.dir, 'cluster.key');
    writeKeyFile(key);
    const { publicKey } = readKeyFile(key);
    // 1.06 M weights: a limit of 12.8 MB.
    const file = writeJob(tmp.dir, 'control.json', { ...job('control-limit', { workers: 1 }), model: { zoo: 'mlp', hidden: [1024, 1024] } });
    let runs = 0;
    const rssAfter = async (extra: string[], send: (endpoint: string) => Promise<void>): Promise<{ grew: number; drops: number }> => {
      const endpoint = `tcp://127.0.0.1:${await freePort()}`;
      const coordinator = startCli(['coordinator', file, '--bind', endpoint, '--out', join(tmp.dir, `control${++runs}`), '--no-progress', '--json', ...extra]);
      await waitForOutput(coordinator.child, /coordinator listening/);
      await sleep(1000);
      const before = rssOf(coordinator.child.pid!);
      await send(endpoint);
      const grew = rssOf(coordinator.child.pid!) - before;
      startCli(['worker', '--connect', endpoint, ...extra, '--log-file', join(tmp.dir, `cw${runs}.jsonl`)]);
      const r = await withDeadline(coordinator.done, 60_000, 'the job');
      expect(r.code, r.stderr).toBe(0);
      return { grew, drops: dropsIn(r.stdout + r.stderr) };
    };
    const mine = zmq.curveKeyPair();
    const keyed = await rssAfter(['--key', key], async (endpoint) => {
      await sendFrame('dealer', endpoint, 256 * MiB);
      await sendFrame('dealer', endpoint, 256 * MiB, { curveServerKey: publicKey, curvePublicKey: mine.publicKey, curveSecretKey: mine.secretKey });
    });
    const overLimit = await rssAfter([], (endpoint) => sendFrame('dealer', endpoint, 256 * MiB));
    // The comparison can fail: a frame under the limit is read, and dropped as malformed.
    const underLimit = await rssAfter([], (endpoint) => sendFrame('dealer', endpoint, 8 * MiB));
    console.log(`control socket: RSS grew ${(keyed.grew / MiB).toFixed(1)} MiB after two 256 MiB frames without the key, ${(overLimit.grew / MiB).toFixed(1)} MiB after one to an unkeyed coordinator; frames read and dropped: ${keyed.drops}, ${overLimit.drops}, and ${underLimit.drops} for the 8 MiB one`);
    expect(keyed.grew).toBeLessThan(64 * MiB);
    expect(overLimit.grew).toBeLessThan(64 * MiB);
    expect([keyed.drops, overLimit.drops]).toEqual([0, 0]);
    expect(underLimit.drops).toBe(1);
  });

  it("a ps shard's server socket before its job starts: a 256 MiB frame is refused unread; the job then runs", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, 'ps');
    const coordinator = startCli(['coordinator', writeJob(tmp.dir, 'ps.json', job('ps-limit', { workers: 1, strategy: 'ps', ps: { shards: 1 } })), '--bind', endpoint, '--out', out, '--no-progress']);
    const shard = startCli(['ps', '--connect', endpoint, '--log-file', join(tmp.dir, 's0.jsonl')]);
    await until(() => joinedSoFar(out, 'ps shard').length === 1, 'the shard', 30_000);
    const server = members(out, 'ps shard')[0].endpoint;
    const before = rssOf(shard.child.pid!);
    await sendFrame('dealer', server, 256 * MiB);
    const grew = rssOf(shard.child.pid!) - before;
    console.log(`shard socket: RSS grew ${(grew / MiB).toFixed(1)} MiB after a 256 MiB frame`);
    expect(grew).toBeLessThan(64 * MiB);
    startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'sw.jsonl')]);
    const r = await withDeadline(coordinator.done, 60_000, 'the job');
    expect(r.code, r.stderr).toBe(0);
  });
});
