/**
 * The same-host all-reduce (src/worker/host-sum.ts) between real processes
 * sharing real POSIX shared memory: every worker ends with the same bits,
 * and those are the float32 sums in the TCP ring's order that the test
 * computes itself; gathers hand each worker's own range to all; long
 * buffers go in pieces; a failed or missing peer ends the
 * others' wait; nothing is left in /dev/shm.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hostMemory } from '../src/worker/host-memory.js';
import { ownedRange } from '../src/worker/host-sum.js';

const DIST = join(process.cwd(), 'dist', 'src', 'worker');
const memory = hostMemory();

/** What each child does: sums of these lengths, in order; `exitAt`/`failAt`: before that sum, exit or close (as a worker that failed). */
interface ChildPlan {
  name: string;
  rank: number;
  size: number;
  slotFloats: number;
  lengths: number[];
  /** Then gathers of these lengths (each worker's own range of its values into everyone's). */
  gathers?: number[];
  timeoutMs: number;
  exitAt?: number;
  failAt?: number;
}

/** The value rank r contributes at position i of sum k: magnitudes from 1e-3 to 1e4, so that the order of a sum shows in its bits. */
function value(r: number, i: number, k: number): number {
  const x = Math.sin(r * 7919 + i * 104729 + k * 15485863);
  return Math.fround(x * 10 ** ((i + r) % 8 - 3));
}

const CHILD = `
import { hostMemory } from ${JSON.stringify(pathToFileURL(join(DIST, 'host-memory.js')).href)};
import { HostSum } from ${JSON.stringify(pathToFileURL(join(DIST, 'host-sum.js')).href)};
const p = JSON.parse(process.env.PLAN);
const value = ${value.toString()};
const h = new HostSum({ memory: hostMemory(), name: p.name, rank: p.rank, size: p.size, slotFloats: p.slotFloats, timeoutMs: p.timeoutMs, ended: () => false });
const sums = [];
try {
  p.lengths.forEach((len, k) => {
    if (p.exitAt === k) process.exit(3);
    if (p.failAt === k) { h.fail(); throw new Error('failing on purpose'); }
    const buf = Float32Array.from({ length: len }, (_, i) => value(p.rank, i, k));
    h.sum(buf);
    sums.push(Buffer.from(buf.buffer).toString('base64'));
  });
  (p.gathers ?? []).forEach((len, g) => {
    const buf = Float32Array.from({ length: len }, (_, i) => value(p.rank, i, 100 + g));
    h.gather(buf);
    sums.push(Buffer.from(buf.buffer).toString('base64'));
  });
  process.stdout.write(JSON.stringify({ sums }));
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.message }));
} finally {
  h.close();
}
`;

const children = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});

function runChild(plan: ChildPlan): Promise<{ sums?: Float32Array[]; error?: string; code: number | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, PLAN: JSON.stringify(plan) }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rank ${plan.rank}: no answer in 30 s`)), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!out) return resolve({ code });
      const r = JSON.parse(out) as { sums?: string[]; error?: string };
      resolve({ code, ...(r.error ? { error: r.error } : {}), ...(r.sums ? { sums: r.sums.map((s) => new Float32Array(new Uint8Array(Buffer.from(s, 'base64')).buffer)) } : {}) });
    });
  });
}

const used: string[] = [];
const uniqueName = () => {
  const name = `/dtrain-${randomBytes(8).toString('hex')}`;
  used.push(name);
  return name;
};

/** The float32 sum of the ranks' values at position i, in the given order of ranks. */
function sumInOrder(order: number[], i: number, k: number): number {
  let acc = value(order[0], i, k);
  for (const r of order.slice(1)) acc = Math.fround(acc + value(r, i, k));
  return acc;
}

/**
 * The TCP ring's order for position i of a buffer of `len` values summed
 * `size` ways (src/worker/reducers/ring.ts): the whole buffer is cut into
 * `size` segments at ⌊q·len/N⌋, and segment q's sum starts at rank q and
 * goes round, however the shared-memory sum cuts the buffer into pieces.
 */
function ringOrder(i: number, len: number, size: number): number[] {
  let q = 0;
  while (i >= Math.floor(((q + 1) * len) / size)) q++;
  return Array.from({ length: size }, (_, k) => (q + k) % size);
}

describe.skipIf(!memory)('shared-memory all-reduce between processes', () => {
  for (const size of [2, 3, 4]) {
    it(`${size} processes: every one ends with the float32 sums in the TCP ring's order, bit for bit, buffers longer than a slot in pieces`, async () => {
      const name = uniqueName();
      const lengths = [1, 5, 999, 1000, 1001, 4321];
      const results = await Promise.all(Array.from({ length: size }, (_, rank) => runChild({ name, rank, size, slotFloats: 1000, lengths, timeoutMs: 20_000 })));
      for (const r of results) expect(r.error).toBeUndefined();
      lengths.forEach((len, k) => {
        const want = Float32Array.from({ length: len }, (_, i) => sumInOrder(ringOrder(i, len, size), i, k));
        for (const r of results) expect(Buffer.from(r.sums![k].buffer).equals(Buffer.from(want.buffer))).toBe(true);
      });
      expect(existsSync(`/dev/shm${name}`)).toBe(false);
    });
  }

  it('a gather gives every worker each owner\'s range (contiguous, in rank order), in pieces, exactly; ranges may be empty', async () => {
    const name = uniqueName();
    const size = 3;
    const gathers = [1, 2, 999, 2500];
    const results = await Promise.all(Array.from({ length: size }, (_, rank) => runChild({ name, rank, size, slotFloats: 1000, lengths: [7], gathers, timeoutMs: 20_000 })));
    for (const r of results) expect(r.error).toBeUndefined();
    gathers.forEach((len, g) => {
      const owner = (i: number) => [...Array(size).keys()].find((q) => i >= ownedRange(len, q, size)[0] && i < ownedRange(len, q, size)[1])!;
      const want = Float32Array.from({ length: len }, (_, i) => value(owner(i), i, 100 + g));
      for (const r of results) expect(Array.from(r.sums![1 + g])).toEqual(Array.from(want));
    });
    // The comparison can fail: the workers' own values differ wherever another worker owns the range.
    expect(Array.from(results[0].sums![4])).not.toEqual(Array.from(Float32Array.from({ length: 2500 }, (_, i) => value(0, i, 103))));
    expect(ownedRange(2500, 0, 3)).toEqual([0, 833]);
    expect(ownedRange(2, 0, 3)).toEqual([0, 0]);
  });

  it('the comparison can fail: the same sums in plain rank order differ in their bits', () => {
    const len = 4321;
    const ring = Float32Array.from({ length: len }, (_, i) => sumInOrder(ringOrder(i, len, 3), i, 5));
    const plain = Float32Array.from({ length: len }, (_, i) => sumInOrder([0, 1, 2], i, 5));
    expect(ring.some((v, i) => v !== plain[i])).toBe(true);
  });

  it('workers that disagree on what they sum fail, naming the lengths, rather than add unrelated values', async () => {
    const name = uniqueName();
    const results = await Promise.all([0, 1].map((rank) => runChild({ name, rank, size: 2, slotFloats: 64, lengths: [40, rank === 0 ? 30 : 31], timeoutMs: 20_000 })));
    expect(results[0].error).toMatch(/out of step: worker #1 sums 31 values \(its collective 2\) where worker #0 sums 30 values/);
    expect(results[1].error).toMatch(/out of step: worker #0 sums 30 values \(its collective 2\) where worker #1 sums 31 values/);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('workers whose sequences of collectives differ fail even where the lengths agree (each piece carries its collective\'s number)', async () => {
    const name = uniqueName();
    // Rank 0 makes one more (empty) sum first: its sum of 40 is its second collective, rank 1's its first.
    const results = await Promise.all([0, 1].map((rank) => runChild({ name, rank, size: 2, slotFloats: 64, lengths: rank === 0 ? [0, 40] : [40], timeoutMs: 20_000 })));
    expect(results[0].error).toMatch(/out of step: worker #1 sums 40 values \(its collective 1\) where worker #0 sums 40 values \(its collective 2\)/);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('a peer that fails makes the others fail at once, not at their deadline', async () => {
    const name = uniqueName();
    const t0 = performance.now();
    const results = await Promise.all([0, 1, 2].map((rank) => runChild({ name, rank, size: 3, slotFloats: 64, lengths: [100, 100, 100], timeoutMs: 20_000, ...(rank === 1 ? { failAt: 1 } : {}) })));
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(results[1].error).toBe('failing on purpose');
    for (const r of [results[0], results[2]]) expect(r.error).toMatch(/a peer failed/);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('a peer that is gone before its first sum ends the wait at the deadline, saying how long it waited, and the name is removed', async () => {
    const name = uniqueName();
    const results = await Promise.all([0, 1].map((rank) => runChild({ name, rank, size: 2, slotFloats: 64, lengths: [100, 100], timeoutMs: 1500, ...(rank === 1 ? { exitAt: 0 } : {}) })));
    expect(results[1].code).toBe(3);
    expect(results[0].error).toMatch(/worker #0 waited \d+ ms for the other 1/);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('leaves none of its shared-memory objects behind', () => {
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => existsSync(`/dev/shm${name}`))).toEqual([]);
  });
});
