/** No silent waits: a job whose workers or shards do not all join fails after cluster.joinTimeoutMs, saying who is missing. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killStarted, runCli, startCli, tempDir, writeJob } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const job = (cluster: Record<string, unknown>) => ({
  name: 'lonely',
  data: { source: 'synthetic', kind: 'blobs', samples: 200 },
  model: { zoo: 'mlp', hidden: [4] },
  train: { batchSize: 20 },
  cluster: { backend: 'cpu', joinTimeoutMs: 1500, ...cluster },
});

describe('cluster.joinTimeoutMs', () => {
  it('a coordinator whose workers never come fails after the timeout, naming how many joined', async () => {
    const out = join(tmp.dir, 'none');
    const r = await runCli(['coordinator', writeJob(tmp.dir, 'none.json', job({ workers: 2 })), '--bind', `tcp://127.0.0.1:${await freePort()}`, '--out', out, '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/only 0 of 2 worker\(s\) joined within cluster\.joinTimeoutMs \(1500 ms\)/);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ status: 'failed', steps: 0 });
  });

  it('counts the members that did join, ps shards too', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    // Long enough for the worker process to start and join (it repeats its join until the coordinator answers).
    const coordinator = startCli(['coordinator', writeJob(tmp.dir, 'some.json', job({ workers: 2, strategy: 'ps', ps: { shards: 1 }, joinTimeoutMs: 8000 })), '--bind', endpoint, '--out', join(tmp.dir, 'some'), '--no-progress']);
    startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'w.jsonl')]);
    const r = await coordinator.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/only 1 of 2 worker\(s\) and 0 of 1 ps shard\(s\) joined within cluster\.joinTimeoutMs/);
  });
});
