/**
 * Who may take part (real processes, 127.0.0.1): cluster keys, the refusal
 * to listen on a network without one, and strangers: a process without the
 * key, one holding another cluster's key, and one that knows the cluster's
 * public key but not its secret cannot join a keyed coordinator, nor get
 * ring or ps traffic accepted by its members. The job ends as an
 * undisturbed run of it does, bit for bit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, describe, expect, it } from 'vitest';
import { encode } from '../src/wire/codec.js';
import { generateKey, readKeyFile } from '../src/wire/cluster-key.js';
import { freePort, killStarted, runCli, startCli, stopProcess, tempDir, waitForOutput, writeJob } from './helpers/cli.js';
import { sleep, withDeadline } from './helpers/fake-peer.js';
import { joinedSoFar, members, summaryOf, weightsOf } from './helpers/runs.js';

const tmp = tempDir();
const fixtures = new Set<ChildProcess>();
afterAll(() => {
  killStarted();
  for (const c of fixtures) c.kill('SIGKILL');
  tmp.cleanup();
});

const job = (strategy: 'ring' | 'ps', workers: number) => ({
  name: `keyed-${strategy}`,
  seed: 4,
  data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [16] },
  train: { epochs: 6, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, logEvery: 10 },
  // transport tcp: the ring's sockets are what these tests attack (on one machine the sums would go through shared memory)
  cluster: { workers, backend: 'cpu', strategy, transport: 'tcp', ...(strategy === 'ps' ? { ps: { shards: 2 } } : {}) },
});

async function makeKey(name: string): Promise<string> {
  const file = join(tmp.dir, name);
  const r = await runCli(['keys', 'generate', file]);
  expect(r.code, r.stderr).toBe(0);
  return file;
}

describe('cluster keys', () => {
  it('dtrain keys generate writes a private key file once; a readable, damaged or mismatched one is refused', async () => {
    const file = await makeKey('one.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readKeyFile(file);
    expect(key.publicKey).toHaveLength(40);
    const again = await runCli(['keys', 'generate', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    expect(readKeyFile(file)).toEqual(key);

    chmodSync(file, 0o644);
    const open = await runCli(['worker', '--connect', 'tcp://127.0.0.1:9', '--key', file]);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/can be read by others.*chmod 600/);

    const other = generateKey();
    const mixed = join(tmp.dir, 'mixed.key');
    writeFileSync(mixed, JSON.stringify({ kind: 'dtrain-cluster-key', publicKey: other.publicKey, secretKey: key.secretKey }), { mode: 0o600 });
    const bad = await runCli(['ps', '--connect', 'tcp://127.0.0.1:9', '--key', mixed]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/public key does not belong to its secret key/);
    const junk = join(tmp.dir, 'junk.key');
    writeFileSync(junk, 'hello', { mode: 0o600 });
    const j = await runCli(['coordinator', 'x.yaml', '--bind', 'tcp://127.0.0.1:9', '--key', junk]);
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/not a dtrain key file/);
  });

  it('no process listens on a network without a key (exit 2, saying how to make one) unless --insecure', async () => {
    const file = writeJob(tmp.dir, 'job.json', job('ring', 1));
    const refusals = await Promise.all([
      runCli(['coordinator', file, '--bind', 'tcp://0.0.0.0:5555']),
      runCli(['worker', '--connect', 'tcp://10.20.30.40:5555']),
      runCli(['worker', '--connect', 'tcp://127.0.0.1:5555', '--bind-host', '0.0.0.0']),
      runCli(['ps', '--connect', 'tcp://127.0.0.1:5555', '--bind', 'tcp://0.0.0.0:*']),
    ]);
    for (const r of refusals) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/no cluster key.*dtrain keys generate/);
    }
    const nats = await runCli(['coordinator', '--nats', 'nats://10.20.30.40:4222', '--bind', `tcp://127.0.0.1:${await freePort()}`, '--state-dir', join(tmp.dir, 'state')]);
    expect(nats.code).toBe(2);
    expect(nats.stderr).toMatch(/no credentials.*deploy\/nats/);

    const port = await freePort();
    const insecure = startCli(['coordinator', file, '--bind', `tcp://0.0.0.0:${port}`, '--insecure', '--out', join(tmp.dir, 'insecure'), '--no-progress', '--json']);
    await waitForOutput(insecure.child, /coordinator listening/, 30_000);
    await stopProcess(insecure.child);
  });
});

/** Dealers that try to join and forge messages without the cluster key (a send that cannot go out fails at once: sendTimeout 0). */
function strangers(endpoint: string, clusterPublicKey: string): { sockets: zmq.Dealer[]; received: () => number } {
  const other = generateKey();
  const mine = zmq.curveKeyPair();
  const sockets = [
    new zmq.Dealer({ linger: 0, sendTimeout: 0, routingId: 'plain' }),
    new zmq.Dealer({ linger: 0, sendTimeout: 0, routingId: 'other-cluster', curveServerKey: other.publicKey, curvePublicKey: other.publicKey, curveSecretKey: other.secretKey }),
    // Knows the cluster's public key (it is printed by keys generate), proves a key pair of its own.
    new zmq.Dealer({ linger: 0, sendTimeout: 0, routingId: 'public-only', curveServerKey: clusterPublicKey, curvePublicKey: mine.publicKey, curveSecretKey: mine.secretKey }),
  ];
  let received = 0;
  for (const s of sockets) {
    s.connect(endpoint);
    void (async () => {
      for await (const _ of s) received++;
    })().catch(() => undefined);
  }
  return { sockets, received: () => received };
}

/** Sockets of a stranger's, one connected to each member of `what` as it joins the run in `out` (`connectNew` picks up the latest). */
function toMembers<S extends zmq.Push | zmq.Dealer>(out: string, what: 'worker' | 'ps shard', make: () => S): { sockets: S[]; connectNew(): void } {
  const sockets: S[] = [];
  const reached = new Set<string>();
  return {
    sockets,
    connectNew: () => {
      for (const m of joinedSoFar(out, what)) {
        if (reached.has(m.endpoint)) continue;
        reached.add(m.endpoint);
        const sock = make();
        sock.connect(m.endpoint);
        sockets.push(sock);
      }
    },
  };
}

describe('strangers and a keyed cluster', () => {
  it('cannot join, send control messages or inject ring traffic: the job ends as an undisturbed run', async () => {
    const key = await makeKey('cluster.key');
    const otherKey = await makeKey('other.key');
    const { publicKey } = readKeyFile(key);
    const file = writeJob(tmp.dir, 'ring.json', job('ring', 2));
    const ref = await runCli(['run', file, '--out', join(tmp.dir, 'ref-ring'), '--no-progress', '--insecure']);
    expect(ref.code, ref.stderr).toBe(0);

    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, 'keyed-ring');
    const coordinator = startCli(['coordinator', file, '--bind', endpoint, '--key', key, '--out', out, '--no-progress']);
    const s = strangers(endpoint, publicKey);
    // A real worker with another cluster's key, started first: it must never be taken.
    const intruder = startCli(['worker', '--connect', endpoint, '--key', otherKey, '--log-file', join(tmp.dir, 'intruder.jsonl')]);
    let sent = 0; // attempts: the strangers' sockets never get a connection to send on
    let ringSent = 0;
    let sending = true;
    const ring = toMembers(out, 'worker', () => new zmq.Push({ linger: 0, sendTimeout: 0, sendHighWaterMark: 10 }));
    const ringSenders = ring.sockets;
    const flood = (async () => {
      while (sending) {
        for (const d of s.sockets) {
          await d.send(encode({ type: 'join', role: 'worker', host: 'stranger', pid: 1, endpoint: 'tcp://127.0.0.1:9' })).catch(() => undefined);
          await d.send(encode({ type: 'failed', message: 'forged' })).catch(() => undefined);
          sent += 2;
        }
        // Once the members are known, well-formed ring messages to their ring sockets, without the session's seal.
        ring.connectNew();
        for (const p of ringSenders) {
          for (let step = 0; step < 2; step++) await p.send(encode({ type: 'ring', op: 0, step, chunk: 0 }, [new Float32Array(64).fill(1e6)])).then(() => ringSent++, () => undefined);
        }
        await sleep(5);
      }
    })();
    await sleep(1500); // the strangers and the intruder try first
    for (let i = 0; i < 2; i++) startCli(['worker', '--connect', endpoint, '--key', key, '--log-file', join(tmp.dir, `w${i}.jsonl`)]);
    const r = await withDeadline(coordinator.done, 120_000, 'the keyed job');
    sending = false;
    await flood;
    for (const d of [...s.sockets, ...ringSenders]) d.close();
    await stopProcess(intruder.child);
    expect(r.code, r.stderr).toBe(0);
    expect(ringSenders.length).toBe(2);
    expect(sent).toBeGreaterThan(100);
    expect(ringSent).toBeGreaterThan(10);
    expect(s.received()).toBe(0);
    expect(members(out, 'worker').map((m) => m.endpoint)).not.toContain('tcp://127.0.0.1:9');
    expect(members(out, 'worker')).toHaveLength(2);
    expect(readFileSync(join(tmp.dir, 'intruder.jsonl'), 'utf8')).not.toMatch(/job started/);
    expect(summaryOf(out)).toMatchObject({ status: 'succeeded', steps: summaryOf(join(tmp.dir, 'ref-ring')).steps });
    expect(await weightsOf(out)).toEqual(await weightsOf(join(tmp.dir, 'ref-ring')));
    // The one that proved a key pair of its own is refused by name; the workers dropped the unsealed ring messages.
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).toMatch(/refused a connection/);
    const workerLogs = [0, 1].map((i) => readFileSync(join(tmp.dir, `w${i}.jsonl`), 'utf8')).join('');
    expect(workerLogs).toMatch(/not sealed with the session key/);
  });

  it('strategy ps, encrypted: unsealed and unkeyed traffic to the shards changes nothing either', async () => {
    const key = await makeKey('ps.key');
    const file = writeJob(tmp.dir, 'ps.json', { ...job('ps', 2), cluster: { ...job('ps', 2).cluster, encrypt: true } });
    const ref = await runCli(['run', file, '--out', join(tmp.dir, 'ref-ps'), '--no-progress', '--set', 'cluster.encrypt=false', '--insecure']);
    expect(ref.code, ref.stderr).toBe(0);
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, 'keyed-ps');
    const coordinator = startCli(['coordinator', file, '--bind', endpoint, '--key', key, '--out', out, '--no-progress']);
    for (let i = 0; i < 2; i++) startCli(['ps', '--connect', endpoint, '--key', key, '--log-file', join(tmp.dir, `ps${i}.jsonl`)]);
    const shards = toMembers(out, 'ps shard', () => new zmq.Dealer({ linger: 0, sendTimeout: 0, sendHighWaterMark: 10 }));
    const pushes = shards.sockets;
    let psSent = 0; // sends that left: none should once the shards listen with CURVE
    let sending = true;
    const flood = (async () => {
      while (sending) {
        shards.connectNew();
        for (const d of pushes) await d.send(encode({ type: 'psSum', op: 0, rank: 0 }, [new Float32Array(8).fill(1e6)])).then(() => psSent++, () => undefined);
        await sleep(5);
      }
    })();
    await sleep(500);
    for (let i = 0; i < 2; i++) startCli(['worker', '--connect', endpoint, '--key', key, '--log-file', join(tmp.dir, `pw${i}.jsonl`)]);
    const r = await withDeadline(coordinator.done, 120_000, 'the keyed ps job');
    sending = false;
    await flood;
    for (const d of pushes) d.close();
    expect(r.code, r.stderr).toBe(0);
    expect(pushes.length).toBe(2);
    console.log(`encrypted ps: ${psSent} unkeyed messages queued to the shards`);
    expect(await weightsOf(out)).toEqual(await weightsOf(join(tmp.dir, 'ref-ps')));
    // The shards never read one: nothing of theirs was dropped as malformed, since no connection was made.
    const shardLogs = [0, 1].map((i) => readFileSync(join(tmp.dir, `ps${i}.jsonl`), 'utf8')).join('');
    expect(shardLogs).not.toMatch(/dropped a malformed message/);
  });
});

const TAMPERING = fileURLToPath(new URL('./fixtures/tampering-worker.mjs', import.meta.url));

/** The tampering worker (test/fixtures): poisons its own parameters after `poisonStep`, or, without it, is honest. */
function tamperingWorker(endpoint: string, key: string, log: string, poisonStep?: number): { child: ChildProcess; exit: Promise<number | null> } {
  const env = { ...process.env, ...(poisonStep === undefined ? {} : { POISON_STEP: String(poisonStep) }) };
  const child = spawn(process.execPath, [TAMPERING, endpoint, key, log], { stdio: 'ignore', env });
  fixtures.add(child);
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      fixtures.delete(child);
      resolve(code);
    }),
  );
  return { child, exit };
}

describe('a key holder that tampers with its replica', () => {
  const run = async (tag: string, poisonStep?: number) => {
    const key = await makeKey(`${tag}.key`);
    const file = writeJob(tmp.dir, `${tag}.json`, job('ring', 2));
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, tag);
    const coordinator = startCli(['coordinator', file, '--bind', endpoint, '--key', key, '--out', out, '--no-progress']);
    const honest = startCli(['worker', '--connect', endpoint, '--key', key, '--log-file', join(tmp.dir, `${tag}-honest.jsonl`)]);
    const tampering = tamperingWorker(endpoint, key, join(tmp.dir, `${tag}-tampering.jsonl`), poisonStep);
    const r = await withDeadline(coordinator.done, 120_000, `the ${tag} job`);
    await withDeadline(Promise.all([honest.done, tampering.exit]), 30_000, 'the workers to stop');
    return { r, out, pid: tampering.child.pid! };
  };

  it('is found before anything is saved: the job fails naming it, and writes no model', async () => {
    const { r, out, pid } = await run('tampered', 5);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`the replicas disagree .*worker #\\d \\(pid ${pid} on [^)]+\\)`));
    expect(r.stderr).toMatch(/Nothing is saved/);
    expect(existsSync(join(out, 'model'))).toBe(false);
    expect(summaryOf(out)).toMatchObject({ status: 'failed' });
  });

  it('the companion: the same worker without the tampering trains the job to the end', async () => {
    const { r, out } = await run('untampered');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'model'))).toBe(true);
    expect(summaryOf(out)).toMatchObject({ status: 'succeeded' });
  });
});
