/**
 * Two hosts, made of network namespaces joined by a veth pair (created and
 * deleted here; skipped with the reason where they cannot be created): a
 * coordinator and a worker on host A, a worker on host B, no --advertise.
 * - Each worker advertises the address of its interface towards the
 *   coordinator, so the ring forms across the hosts; a host name would
 *   resolve to a loopback address on the other host and the ring would never
 *   form.
 * - Host B's link cut for 10 s mid-run: the coordinator loses B's worker, A's
 *   worker joins again, B's worker (its coordinator silent) joins again once
 *   the link is back, and the job goes on from its latest checkpoint to the
 *   weights of an undisturbed run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir, writeJob } from './helpers/cli.js';
import { writeKeyFile } from '../src/wire/cluster-key.js';
import { sleep, until } from './helpers/fake-peer.js';
import { summaryOf, weightsOf } from './helpers/runs.js';

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

/** Skips the test, saying why, where the namespaces could not be made. */
function skipWithoutHosts(ctx: { skip: () => void }): void {
  if (!skip) return;
  console.log(`skipped: ${skip}`);
  ctx.skip();
}

/** The hosts' cluster key: their addresses are not loopback, so every process needs it (and the traffic between hosts is keyed). */
let keyFile: string | undefined;
function clusterKey(): string {
  if (!keyFile) {
    keyFile = join(tmp.dir, 'cluster.key');
    writeKeyFile(keyFile);
  }
  return keyFile;
}

/** `dtrain ARGS --key …` inside host `h`'s namespace; resolves with its exit code and output. */
function onHost(h: 'a' | 'b', args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn('ip', ['netns', 'exec', NS[h], process.execPath, CLI, ...args, '--key', clusterKey()], { stdio: ['ignore', 'ignore', 'pipe'] });
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
    skipWithoutHosts(ctx);
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

describe('a link cut for 10 s', () => {
  it("host B's link down for 10 s mid-run: the job finishes every step, the recovery in summary.json, the weights of an undisturbed run", async (ctx) => {
    skipWithoutHosts(ctx);
    const job = {
      name: 'link-cut',
      seed: 4,
      data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3, noise: 1.5 },
      model: { zoo: 'mlp', hidden: [32, 16] },
      train: { epochs: 40, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, logEvery: 10, checkpoint: { every: 40 } },
      // minWorkers 2: the job waits for B rather than going on with A alone.
      cluster: { workers: 2, minWorkers: 2, backend: 'cpu', heartbeatTimeoutMs: 3000, joinTimeoutMs: 60_000 },
    };
    const file = writeJob(tmp.dir, 'cut.json', job);
    const refOut = join(tmp.dir, 'cut-ref');
    const ref = await runCli(['run', file, '--out', refOut, '--no-progress']);
    expect(ref.code, ref.stderr).toBe(0);
    const out = join(tmp.dir, 'cut');
    const endpoint = `tcp://${ADDR.a}:5556`;
    const coordinator = onHost('a', ['coordinator', file, '--bind', endpoint, '--out', out, '--no-progress']);
    const logB = join(tmp.dir, 'cut-b.jsonl');
    const workers = [onHost('a', ['worker', '--connect', endpoint, '--log-file', join(tmp.dir, 'cut-a.jsonl')]), onHost('b', ['worker', '--connect', endpoint, '--log-file', logB])];
    const deadline = setTimeout(() => coordinator.child.kill('SIGKILL'), 120_000);
    let ended = false;
    void coordinator.done.then(() => (ended = true));
    const checkpoints = join(out, 'checkpoints');
    await until(() => existsSync(checkpoints) && readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').length > 20, 'steps across the hosts', 60_000);
    ip('-n', NS.b, 'link', 'set', VETH.b, 'down');
    await sleep(10_000);
    ip('-n', NS.b, 'link', 'set', VETH.b, 'up');
    expect(ended, 'the job ended during the cut').toBe(false);
    const r = await coordinator.done;
    clearTimeout(deadline);
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(out);
    expect(summary).toMatchObject({ status: 'succeeded', steps: 1600 });
    console.log(`link cut: ${JSON.stringify(summary.recoveries)}`);
    expect(summary.recoveries).toHaveLength(1);
    expect(summary.recoveries[0].lost).toMatch(new RegExp(`^worker #\\d \\(pid \\d+ on ${ADDR.b.replace(/\./g, '\\.')}\\)$`));
    expect(summary.recoveries[0].action).toMatch(/^restarted from checkpoint step \d+$/);
    // The job waited for the link: lost 3 s into the cut (the heartbeat), its next step came once B was back, 7 s later.
    expect(summary.recoveries[0].seconds).toBeGreaterThan(5);
    expect(readFileSync(logB, 'utf8')).toMatch(/lost the coordinator: joining again/);
    expect(await weightsOf(out)).toEqual(await weightsOf(refOut));
    for (const w of workers) expect((await w.done).code).toBe(0);
  });
});
