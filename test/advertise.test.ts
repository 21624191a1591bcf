/**
 * A worker whose advertised address its ring neighbour cannot reach: the
 * job fails within cluster.heartbeatTimeoutMs with a message naming the
 * worker and the address (ZeroMQ alone would retry for ever while every
 * heartbeat stays healthy). 127.0.0.2 is a loopback address nothing listens
 * on here: the connection is refused, on this host only.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killStarted, startCli, tempDir, writeJob } from './helpers/cli.js';
import { withDeadline } from './helpers/fake-peer.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

describe('ring set-up', () => {
  it('names the worker whose advertised address is unusable, within the heartbeat timeout, instead of hanging', async () => {
    const job = {
      name: 'bad-advertise',
      data: { source: 'synthetic', kind: 'blobs', samples: 400, features: 4, classes: 3 },
      model: { zoo: 'mlp', hidden: [8] },
      train: { epochs: 1, batchSize: 20 },
      // transport tcp: on one machine the workers would sum through shared memory, and never use the ring's address
      cluster: { workers: 2, backend: 'cpu', heartbeatTimeoutMs: 2000, maxRestarts: 0, transport: 'tcp' },
    };
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const coordinator = startCli(['coordinator', writeJob(tmp.dir, 'job.json', job), '--bind', endpoint, '--out', join(tmp.dir, 'out'), '--no-progress']);
    const good = startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'good.jsonl')]);
    await new Promise((r) => setTimeout(r, 300)); // the good worker joins first: rank 0, whose right neighbour is the bad one
    const bad = startCli(['worker', '--connect', endpoint, '--advertise', '127.0.0.2', '--log-file', join(tmp.dir, 'bad.jsonl')]);
    const r = await withDeadline(coordinator.done, 30_000, 'the coordinator');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/worker #0 cannot reach its ring neighbour worker #1 at tcp:\/\/127\.0\.0\.2:\d+, the address that worker advertised, within 2000 ms: start it with an --advertise address/);
    for (const w of [good, bad]) expect((await withDeadline(w.done, 10_000, 'a worker')).code).not.toBeNull();
  });
});
