/** `dtrain coordinator` and separately started `dtrain worker` and `dtrain ps` processes, as on a cluster. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST, freePort, killStarted, startCli, tempDir, writeJob } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

describe.skipIf(!existsSync(FASHION_MNIST))('cluster mode', () => {
  it('a coordinator waits for its workers, trains a CNN with them, and all exit 0', async () => {
    const job = {
      name: 'cluster-cnn',
      seed: 2,
      data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 256, testLimit: 200 },
      model: { zoo: 'cnn', conv: [4], dense: [16], dropout: 0.2 },
      train: { maxSteps: 4, batchSize: 32, optimizer: { name: 'momentum', lr: 0.05 } },
      cluster: { workers: 2, backend: 'auto' },
    };
    const port = await freePort();
    const out = join(tmp.dir, 'out');
    const coord = startCli(['coordinator', writeJob(tmp.dir, 'job.json', job), '--bind', `tcp://127.0.0.1:${port}`, '--out', out]);
    // Workers may start in any order relative to the coordinator; start them a moment later.
    await new Promise((r) => setTimeout(r, 300));
    const workers = [0, 1].map((i) => startCli(['worker', '--connect', `tcp://127.0.0.1:${port}`, '--log-file', join(tmp.dir, `w${i}.jsonl`)]));
    const c = await coord.done;
    const w = await Promise.all(workers.map((x) => x.done));
    expect(c.stderr).toContain(`listening on tcp://127.0.0.1:${port}`);
    expect(c.stderr).toMatch(/worker #0 \(pid \d+ on 127\.0\.0\.1\) joined \(1\/2\)/);
    expect(c.stderr).toMatch(/worker #1 \(pid \d+ on 127\.0\.0\.1\) joined \(2\/2\)/);
    expect(c.code, c.stderr).toBe(0);
    for (const r of w) expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'succeeded', workers: 2, steps: 4, backend: 'wasm' });
    expect(summary.eval.accuracy).toBeGreaterThan(0);
    // The worker logs say why the backend was chosen.
    expect(readFileSync(join(tmp.dir, 'w0.jsonl'), 'utf8')).toMatch(/wasm with dtrain kernels is the fastest installed backend/);
  });

  it('a frozen worker (SIGSTOP) is declared lost by heartbeat timeout, naming it (cluster.maxRestarts 0: the job ends there)', async () => {
    const job = {
      name: 'frozen',
      seed: 2,
      data: { source: 'synthetic', kind: 'blobs', samples: 20000, features: 8, classes: 3 },
      model: { zoo: 'mlp', hidden: [32] },
      train: { epochs: 100, batchSize: 32 },
      cluster: { workers: 2, backend: 'cpu', heartbeatTimeoutMs: 1500, maxRestarts: 0 },
    };
    const port = await freePort();
    const out = join(tmp.dir, 'out-frozen');
    const coord = startCli(['coordinator', writeJob(tmp.dir, 'frozen.json', job), '--bind', `tcp://127.0.0.1:${port}`, '--out', out]);
    const workers = [0, 1].map(() => startCli(['worker', '--connect', `tcp://127.0.0.1:${port}`, '--log-file', join(tmp.dir, 'frozen-w.jsonl')]));
    const metrics = join(out, 'metrics.jsonl');
    for (let i = 0; i < 300 && !(existsSync(metrics) && readFileSync(metrics, 'utf8').length > 0); i++) await new Promise((r) => setTimeout(r, 100));
    const victim = workers[1].child.pid!;
    process.kill(victim, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const c = await coord.done;
      expect(Date.now() - stoppedAt).toBeLessThan(6000);
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(new RegExp(`worker #\\d \\(pid ${victim} on 127\\.0\\.0\\.1\\) lost: no heartbeat for 1500 ms`));
      // The healthy worker is told to stop and exits by itself.
      const healthy = await workers[0].done;
      expect(healthy.code).not.toBeNull();
    } finally {
      process.kill(victim, 'SIGKILL');
    }
  });

  it('strategy ps: shards and workers join in any order, train, and all exit 0; a frozen shard is declared lost', async () => {
    const job = {
      name: 'cluster-ps',
      seed: 2,
      data: { source: 'synthetic', kind: 'blobs', samples: 20000, features: 8, classes: 3 },
      model: { zoo: 'mlp', hidden: [32] },
      train: { maxSteps: 30, batchSize: 32, optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1 },
      cluster: { workers: 2, strategy: 'ps', ps: { shards: 2 }, backend: 'cpu', heartbeatTimeoutMs: 1500 },
    };
    const port = await freePort();
    const connect = `tcp://127.0.0.1:${port}`;
    const file = writeJob(tmp.dir, 'ps.json', job);
    const coord = startCli(['coordinator', file, '--bind', connect, '--out', join(tmp.dir, 'out-ps')]);
    const members = [
      startCli(['worker', '--connect', connect, '--log-file', join(tmp.dir, 'ps-w0.jsonl')]),
      startCli(['ps', '--connect', connect, '--bind', 'tcp://127.0.0.1:*', '--log-file', join(tmp.dir, 'ps-s0.jsonl')]),
      startCli(['worker', '--connect', connect, '--log-file', join(tmp.dir, 'ps-w1.jsonl')]),
      startCli(['ps', '--connect', connect, '--log-file', join(tmp.dir, 'ps-s1.jsonl')]),
    ];
    const c = await coord.done;
    expect(c.stderr).toMatch(/and for 2 ps shard\(s\) \(dtrain ps --connect/);
    expect(c.stderr).toMatch(/ps shard #1 \(pid \d+ on 127\.0\.0\.1\) joined \(2\/2\)/);
    expect(c.code, c.stderr).toBe(0);
    for (const m of await Promise.all(members.map((x) => x.done))) expect(m.code).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp.dir, 'out-ps', 'summary.json'), 'utf8'))).toMatchObject({ status: 'succeeded', strategy: 'ps', steps: 30 });

    // The same job, longer, with one shard frozen mid-run (and no restarts: test/cluster-recovery.test.ts has those).
    const coord2 = startCli(['coordinator', file, '--bind', connect, '--out', join(tmp.dir, 'out-ps-frozen'), '--set', 'train.maxSteps=100000', '--set', 'cluster.maxRestarts=0']);
    const shards = [0, 1].map(() => startCli(['ps', '--connect', connect, '--log-file', join(tmp.dir, 'ps-frozen.jsonl')]));
    const workers = [0, 1].map(() => startCli(['worker', '--connect', connect, '--log-file', join(tmp.dir, 'ps-frozen-w.jsonl')]));
    const metrics = join(tmp.dir, 'out-ps-frozen', 'metrics.jsonl');
    for (let i = 0; i < 300 && !(existsSync(metrics) && readFileSync(metrics, 'utf8').length > 0); i++) await new Promise((r) => setTimeout(r, 100));
    const victim = shards[0].child.pid!;
    process.kill(victim, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const r = await coord2.done;
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`ps shard #\\d \\(pid ${victim} on 127\\.0\\.0\\.1\\) lost: no heartbeat for 1500 ms`));
      // Workers blocked on the frozen shard are told to stop, and do.
      for (const w of await Promise.all(workers.map((x) => x.done))) expect(w.code).not.toBeNull();
      expect((await shards[1].done).code).toBe(0);
    } finally {
      process.kill(victim, 'SIGKILL');
    }
  });

  it('a worker with no coordinator to reach can be stopped, and a bad --connect is a usage error', async () => {
    const bad = await startCli(['worker', '--connect', 'localhost:5555']).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--connect must look like tcp:\/\/HOST:PORT/);
    const port = await freePort();
    const lonely = startCli(['worker', '--connect', `tcp://127.0.0.1:${port}`, '--log-file', join(tmp.dir, 'lonely.jsonl')]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(lonely.child.exitCode).toBeNull(); // still waiting for a coordinator, as it should
    lonely.child.kill('SIGTERM');
    const r = await lonely.done;
    expect(r.signal ?? r.code).toBeTruthy();
  });
});
