/**
 * cluster.transport: `dtrain run`'s workers, all on this machine, sum
 * through shared memory by default (auto) and over the ring's TCP links with
 * `tcp`; both give the same bits (test/equivalence.test.ts checks them
 * against one process), and no
 * shared-memory object outlives the run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, writeJob } from './helpers/cli.js';
import { dtrainRun, equivalenceRuns } from './helpers/dtrain-run.js';
import { hostMemory } from '../src/worker/host-memory.js';

const tmp = equivalenceRuns();
const job = (transport: string) => ({
  name: 'transport',
  seed: 5,
  data: { source: 'synthetic', kind: 'blobs', samples: 300, features: 6, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [16], activation: 'relu' },
  train: { epochs: 2, batchSize: 30, optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1 },
  cluster: { backend: 'cpu', transport, chunkBytes: 4096 },
});
const logOf = (tag: string) => readFileSync(join(tmp.dir, tag, 'log.jsonl'), 'utf8');
const ours = () => (existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((f) => /^dtrain-[0-9a-f]{16}$/.test(f)) : []);

describe.skipIf(!hostMemory())('cluster.transport', () => {
  it('auto: 3 workers on one machine sum through shared memory; tcp: over the ring; the two give the same bits and leave no shared memory', async () => {
    const before = ours();
    const shared = await dtrainRun(tmp.dir, job('auto'), ['--workers', '3'], 'auto');
    const ring = await dtrainRun(tmp.dir, job('tcp'), ['--workers', '3'], 'tcp');
    expect(logOf('auto')).toMatch(/sums go through shared memory/);
    expect(logOf('auto')).not.toMatch(/over the ring's TCP links/);
    expect(logOf('tcp')).toMatch(/over the ring's TCP links/);
    expect(logOf('tcp')).not.toMatch(/sums go through shared memory/);
    // The shared-memory sum adds in the ring's order: the same bits.
    expect(Buffer.from(shared.buffer, shared.byteOffset, shared.byteLength).equals(Buffer.from(ring.buffer, ring.byteOffset, ring.byteLength))).toBe(true);
    expect(ours().filter((f) => !before.includes(f))).toEqual([]);
  });

  it('a transport that is not auto or tcp is refused, naming the key', async () => {
    const file = writeJob(tmp.dir, 'bad.json', job('shm'));
    const r = await runCli(['run', file, '--out', join(tmp.dir, 'bad'), '--no-progress']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cluster\.transport/);
  });
});
