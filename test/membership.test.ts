/** Membership on the in-memory transport: joins and ranks, spares and turned-away members, heartbeats. */
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../src/coordinator/control.js';
import { label, Membership, type Expected, type MemberInfo, type SparePolicy } from '../src/coordinator/membership.js';
import { WorkerFailedError, WorkerLostError } from '../src/util/errors.js';
import { memoryHub } from '../src/wire/memory-transport.js';
import type { Message } from '../src/wire/messages.js';
import { captureLogger, FakePeer, sleep, until, withDeadline, type LogLine, type PingAnswer } from './helpers/fake-peer.js';

interface Rig {
  control: ControlPlane;
  membership: Membership;
  lines: LogLine[];
  /** onJoin calls: peer, joined so far, expected. */
  joins: [string, number, number][];
  peer(id: string, onPing?: PingAnswer): FakePeer;
  loop: Promise<void>;
  peers: FakePeer[];
}

let rig: Rig | undefined;

function setup(expected: Expected, timeoutMs = 5000, spares: SparePolicy = 'turnAway'): Rig {
  const { hub, connect } = memoryHub();
  const { log, lines } = captureLogger();
  const control = new ControlPlane(hub, log);
  const membership = new Membership(control, expected, timeoutMs, log, spares);
  const joins: Rig['joins'] = [];
  membership.onJoin = (m, joined, of) => joins.push([m.peer, joined, of]);
  const peers: FakePeer[] = [];
  const peer = (id: string, onPing?: PingAnswer) => {
    const p = new FakePeer(connect(id), { onPing });
    peers.push(p);
    return p;
  };
  rig = { control, membership, lines, joins, peer, loop: control.run(), peers };
  return rig;
}

afterEach(async () => {
  if (!rig) return;
  rig.membership.stop();
  rig.control.fail(new Error('test over')); // settles any expect still waiting
  rig.control.close();
  await rig.loop;
  await Promise.all(rig.peers.map((p) => p.close()));
  rig = undefined;
});

const msgs = (lines: LogLine[], re: RegExp) => lines.filter((l) => re.test(l.msg));
const types = (inbox: Message[]) => inbox.map((m) => m.header.type);
const summary = (m: MemberInfo) => ({ peer: m.peer, role: m.role, rank: m.rank, pid: m.pid, host: m.host, endpoint: m.endpoint });

describe('membership: joins', () => {
  it('numbers workers and ps shards in join order within each role; waitForAll waits for the last', async () => {
    const r = setup({ workers: 2, shards: 2 });
    const all = r.membership.waitForAll();
    let settled = false;
    void all.then(() => (settled = true));
    await r.peer('w-a').join('worker', 11);
    await r.peer('s-a').join('ps', 21);
    await r.peer('w-b').send({ type: 'join', host: 'fake-host', pid: 12, endpoint: 'tcp://10.0.0.9:12' }); // role defaults to worker
    await until(() => r.joins.length === 3, 'three joins');
    await sleep(20);
    expect(settled).toBe(false);
    await r.peer('s-b').join('ps', 22);
    const { workers, shards } = await withDeadline(all, 2000, 'waitForAll');
    expect(workers.map(summary)).toEqual([
      { peer: 'w-a', role: 'worker', rank: 0, pid: 11, host: 'fake-host', endpoint: 'tcp://10.0.0.9:11' },
      { peer: 'w-b', role: 'worker', rank: 1, pid: 12, host: 'fake-host', endpoint: 'tcp://10.0.0.9:12' },
    ]);
    expect(shards.map(summary)).toEqual([
      { peer: 's-a', role: 'ps', rank: 0, pid: 21, host: 'fake-host', endpoint: 'tcp://10.0.0.9:21' },
      { peer: 's-b', role: 'ps', rank: 1, pid: 22, host: 'fake-host', endpoint: 'tcp://10.0.0.9:22' },
    ]);
    expect(r.joins).toEqual([['w-a', 1, 2], ['s-a', 1, 2], ['w-b', 2, 2], ['s-b', 2, 2]]);
    expect(r.membership.members.map((m) => m.peer)).toEqual(['w-a', 'w-b', 's-a', 's-b']);
    // Once complete, waitForAll answers at once with the same lists.
    const again = await withDeadline(r.membership.waitForAll(), 100, 'waitForAll when complete');
    expect(again.workers).toBe(workers);
    expect(msgs(r.lines, /^(worker|ps shard) joined$/)).toHaveLength(4);
  });

  it('finds members by pid and labels them by role, rank, pid and host', async () => {
    const r = setup({ workers: 2, shards: 1 });
    await r.peer('w-a').join('worker', 11, 'alpha');
    await r.peer('w-b').join('worker', 12, 'beta');
    await r.peer('s-a').join('ps', 21, 'gamma');
    await withDeadline(r.membership.waitForAll(), 2000, 'waitForAll');
    expect(r.membership.byPid(12)?.peer).toBe('w-b');
    expect(r.membership.byPid(21)?.peer).toBe('s-a');
    expect(r.membership.byPid(999)).toBeUndefined();
    expect(label(r.membership.byPid(12)!)).toBe('worker #1 (pid 12 on beta)');
    expect(label(r.membership.byPid(21)!)).toBe('ps shard #0 (pid 21 on gamma)');
    // The control plane names members by their label: a member's failure says which.
    await r.peers[1].send({ type: 'failed', message: 'out of memory' });
    await expect(withDeadline(r.control.expect('w-b', 'stepDone'), 2000, 'the failure')).rejects.toBeInstanceOf(WorkerFailedError);
    expect(r.control.failed?.message).toBe('worker #1 (pid 12 on beta) failed: out of memory');
  });

  it('keeps the rank of a repeated join and turns away members the job does not need with stop', async () => {
    const r = setup({ workers: 1, shards: 0 });
    const a = r.peer('w-a');
    await a.join('worker', 11);
    await a.join('worker', 11);
    const extra = r.peer('w-x');
    await extra.join('worker', 13);
    const shard = r.peer('s-x');
    await shard.join('ps', 23);
    expect((await shard.next('stop')).header.reason).toBe('the job does not use ps shards');
    expect((await extra.next('stop')).header.reason).toBe('the job has all the workers it needs');
    expect(r.membership.workers.map(summary)).toEqual([{ peer: 'w-a', role: 'worker', rank: 0, pid: 11, host: 'fake-host', endpoint: 'tcp://10.0.0.9:11' }]);
    expect(r.membership.shards).toEqual([]);
    expect(r.joins).toEqual([['w-a', 1, 1]]);
    expect(msgs(r.lines, /^turned away a (worker|ps shard)/).map((l) => l.memberPid)).toEqual([13, 23]);
    await a.close();
    expect(types(a.inbox)).toEqual(['ping', 'ping']); // each join answered; the member itself was not stopped
  });

  it('keep (service mode): members beyond the job wait unstopped, logged once however often they join', async () => {
    const r = setup({ workers: 1, shards: 0 }, 5000, 'keep');
    await r.peer('w-a').join('worker', 11);
    const spare = r.peer('w-x');
    await spare.join('worker', 13);
    await spare.join('worker', 13);
    const shard = r.peer('s-x');
    await shard.join('ps', 23);
    await until(() => msgs(r.lines, /a spare ps shard waits/).length === 1, 'the spare shard logged');
    expect(msgs(r.lines, /a spare worker waits for a later job/)).toHaveLength(1);
    expect(r.membership.members.map((m) => m.peer)).toEqual(['w-a']);
    await spare.close();
    await shard.close();
    expect(types(spare.inbox)).toEqual(['ping', 'ping']);
    expect(types(shard.inbox)).toEqual(['ping']);
    expect(r.control.failed).toBeUndefined();
  });

  it('hold (dtrain coordinator): a spare worker waits, answered; a shard the job cannot use is turned away', async () => {
    const r = setup({ workers: 1, shards: 0 }, 5000, 'hold');
    await r.peer('w-a').join('worker', 11);
    const spare = r.peer('w-x');
    await spare.join('worker', 13);
    const shard = r.peer('s-x');
    await shard.join('ps', 23);
    expect((await shard.next('stop')).header.reason).toBe('the job does not use ps shards');
    await until(() => msgs(r.lines, /a spare worker waits for a place in the job/).length === 1, 'the spare worker logged');
    expect([...r.membership.spares]).toEqual([['w-x', 'worker']]);
    await spare.close();
    expect(types(spare.inbox)).toEqual(['ping']);
  });

  it('ignores messages from processes that are not in the job; members’ messages reach expect', async () => {
    const r = setup({ workers: 1, shards: 0 });
    const member = r.peer('w-a');
    await member.join('worker', 11);
    const stranger = r.peer('old-job');
    await stranger.send({ type: 'failed', message: 'left over from an earlier job' });
    await stranger.send({ type: 'stepDone', step: 4, lossSum: 1, count: 2, computeMs: 1, commMs: 1, counts: {} });
    let strangerDelivered = false;
    r.control.expect('old-job', 'stepDone').then(() => (strangerDelivered = true), () => undefined);
    await member.send({ type: 'stepDone', step: 0, lossSum: 1.5, count: 3, computeMs: 1, commMs: 1, counts: { correct: 2 } });
    const got = await withDeadline(r.control.expect('w-a', 'stepDone'), 2000, "the member's stepDone");
    expect(got.header).toMatchObject({ step: 0, lossSum: 1.5, count: 3, counts: { correct: 2 } });
    await sleep(20);
    expect(strangerDelivered).toBe(false);
    expect(r.control.failed).toBeUndefined(); // the stranger's `failed` did not end the job
    expect(msgs(r.lines, /not in this job/).map((l) => [l.peer, l.type])).toEqual([['old-job', 'failed'], ['old-job', 'stepDone']]);
  });
});

describe('membership: heartbeats', () => {
  const TIMEOUT_MS = 400;

  it('a silent member fails the control plane with WorkerLostError naming it; others keep answering', async () => {
    const r = setup({ workers: 2, shards: 1 }, TIMEOUT_MS);
    const a = r.peer('w-a');
    await a.join('worker', 11);
    await r.peer('w-b', 'silent').join('worker', 12);
    await r.peer('s-a').join('ps', 21);
    await withDeadline(r.membership.waitForAll(), 2000, 'waitForAll');
    const t0 = Date.now();
    r.membership.startHeartbeats();
    const lost = r.control.guard(new Promise<never>(() => undefined));
    const err = await withDeadline(lost, 5000, 'the lost worker').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkerLostError);
    expect((err as WorkerLostError).member).toBe('worker #1 (pid 12 on fake-host)');
    expect((err as WorkerLostError).message).toBe(`worker #1 (pid 12 on fake-host) lost: no heartbeat for ${TIMEOUT_MS} ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(r.control.failed).toBe(err);
    expect(a.pings).toBeGreaterThan(0);
    expect(a.received('ping').every((m) => Number.isFinite(m.header.t))).toBe(true);
  });

  it('members that answer pings, with a pong or any other message, are never lost; stop ends the pings', async () => {
    const r = setup({ workers: 2, shards: 1 }, 300);
    const peers = [r.peer('w-a', 'pong'), r.peer('w-b', 'stepDone'), r.peer('s-a', 'pong')];
    await peers[0].join('worker', 11);
    await peers[1].join('worker', 12);
    await peers[2].join('ps', 21);
    await withDeadline(r.membership.waitForAll(), 2000, 'waitForAll');
    r.membership.startHeartbeats();
    await sleep(1000); // more than three timeouts
    expect(r.control.failed).toBeUndefined();
    for (const p of peers) expect(p.pings).toBeGreaterThanOrEqual(4); // one every 75 ms
    r.membership.stop();
    await sleep(20);
    const counts = peers.map((p) => p.pings);
    await sleep(250);
    expect(peers.map((p) => p.pings)).toEqual(counts);
    expect(r.control.failed).toBeUndefined();
  });
});
