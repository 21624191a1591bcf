/**
 * Two hosts, made of network namespaces joined by a veth pair (created and
 * deleted here; skipped with the reason where they cannot be created): a
 * coordinator and a worker on host A, a worker on host B, no --advertise.
 * Each worker advertises the address of its interface towards the
 * coordinator, so the ring forms across the hosts; a host name would
 * resolve to a loopback address on the other host and the ring would never
 * form.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir, writeJob } from './helpers/cli.js';

const tag = String(process.pid % 100000);
const NS = { a: `dtA${tag}`, b: `dtB${tag}` };
const VETH = { a: `dta${tag}`, b: `dtb${tag}` };
const NET = `10.231.${process.pid % 200}`;
const ADDR = { a: `${NET}.1`, b: `${NET}.2` };

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** Why the namespaces cannot be made here, or undefined when they were made. */
function makeHosts(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    ip('netns', 'add', NS.a);
    ip('netns', 'add', NS.b);
    ip('link', 'add', VETH.a, 'type', 'veth', 'peer', 'name', VETH.b);
    for (const h of ['a', 'b'] as const) {
      ip('link', 'set', VETH[h], 'netns', NS[h]);
      ip('-n', NS[h], 'addr', 'add', `${ADDR[h]}/24`, 'dev', VETH[h]);
      ip('-n', NS[h], 'link', 'set', VETH[h], 'up');
      ip('-n', NS[h], 'link', 'set', 'lo', 'up');
    }
    return undefined;
  } catch (err) {
    removeHosts();
    return `cannot make network namespaces: ${(err as Error).message.split('\n')[0]}`;
  }
}

function removeHosts(): void {
  for (const ns of Object.values(NS)) {
    try {
      ip('netns', 'del', ns); // takes its end of the veth pair, and so the pair, with it
    } catch {
      // not made
    }
  }
}

const started = new Set<ChildProcess>();
const tmp = tempDir();
/** Made when the tests run, not when the file is only collected (vitest list), which runs no afterAll. */
let skip: string | undefined;
beforeAll(() => {
  skip = makeHosts();
});
afterAll(() => {
  for (const c of started) c.kill('SIGKILL');
  removeHosts();
  tmp.cleanup();
});

/** `dtrain ARGS` inside host `h`'s namespace; resolves with its exit code and output. */
function onHost(h: 'a' | 'b', args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn('ip', ['netns', 'exec', NS[h], process.execPath, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      started.delete(child);
      resolve({ code, stderr });
    }),
  );
  return { child, done };
}

describe('two hosts in network namespaces', () => {
  it('a ring across the hosts forms without --advertise: each worker advertises its interface towards the coordinator', async (ctx) => {
    if (skip) {
      console.log(`skipped: ${skip}`);
      ctx.skip();
    }
    const job = {
      name: 'two-hosts',
      seed: 2,
      data: { source: 'synthetic', kind: 'blobs', samples: 1000, features: 4, classes: 3 },
      model: { zoo: 'mlp', hidden: [16] },
      train: { epochs: 2, batchSize: 50, optimizer: { name: 'adam', lr: 0.01 } },
      cluster: { workers: 2, backend: 'cpu', joinTimeoutMs: 30_000 },
    };
    const out = join(tmp.dir, 'out');
    const endpoint = `tcp://${ADDR.a}:5555`;
    const coordinator = onHost('a', ['coordinator', writeJob(tmp.dir, 'job.json', job), '--bind', endpoint, '--out', out, '--no-progress']);
    const workers = [onHost('a', ['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'wa.jsonl')]), onHost('b', ['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'wb.jsonl')])];
    const deadline = setTimeout(() => coordinator.child.kill('SIGKILL'), 90_000);
    const r = await coordinator.done;
    clearTimeout(deadline);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ status: 'succeeded', steps: 40 });
    const endpoints = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"worker joined"'))
      .map((l) => (JSON.parse(l) as { endpoint: string }).endpoint.replace(/:\d+$/, ''))
      .sort();
    expect(endpoints).toEqual([`tcp://${ADDR.a}`, `tcp://${ADDR.b}`]);
    for (const w of workers) expect((await w.done).code).toBe(0);
  });
});
