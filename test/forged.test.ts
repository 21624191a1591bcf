/**
 * Forged control messages from a process that is not a member (real
 * processes, 127.0.0.1): while a job runs, a stranger connected to the
 * coordinator's control port sends well-formed `failed`, `stepDone`,
 * `evalDone`, `agreed`, `params`, `ready`, `psState` and `pong` messages,
 * and malformed frames. The job ends as an undisturbed run of it does, bit
 * for bit; the coordinator logs what it ignored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { afterAll, describe, expect, it } from 'vitest';
import { encode } from '../src/wire/codec.js';
import { freePort, killStarted, runCli, startCli, tempDir, writeJob } from './helpers/cli.js';
import { sleep, withDeadline } from './helpers/fake-peer.js';
import { summaryOf, weightsOf } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const job = {
  name: 'forged',
  seed: 9,
  data: { source: 'synthetic', kind: 'blobs', samples: 2000, features: 4, classes: 3, noise: 1.5 },
  model: { zoo: 'mlp', hidden: [16] },
  train: { epochs: 8, batchSize: 50, optimizer: { name: 'adam', lr: 0.003 }, logEvery: 10 },
  cluster: { workers: 2, backend: 'cpu' },
};

const params = new Float32Array(4 * 16 + 16 + 16 * 3 + 3).fill(13);
const forgeries: [Record<string, unknown>, Float32Array[]][] = [
  [{ type: 'failed', message: 'forged: give up' }, []],
  [{ type: 'stepDone', step: 3, lossSum: 1e30, count: 50, computeMs: 1, commMs: 1, counts: { correct: 50 } }, []],
  [{ type: 'evalDone', id: 0, lossSum: 0, count: 400, counts: { correct: 400 }, paramsCrc: 1 }, []],
  [{ type: 'agreed', paramsCrc: 1 }, []],
  [{ type: 'params', rank: 0, optimizers: [] }, [params, new Float32Array(0), new Float32Array(0)]],
  [{ type: 'ready', rank: 0, backend: 'cpu', backendReason: 'forged', paramCount: params.length }, []],
  [{ type: 'psState', index: 0, optimizerState: null }, [params, new Float32Array(0)]],
  [{ type: 'pong', t: 1 }, []],
];

describe('forged control messages from a non-member', () => {
  it('change nothing: the job ends with the weights of an undisturbed run', async () => {
    const file = writeJob(tmp.dir, 'job.json', job);
    const ref = await runCli(['run', file, '--out', join(tmp.dir, 'ref'), '--no-progress']);
    expect(ref.code, ref.stderr).toBe(0);

    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const out = join(tmp.dir, 'out');
    const coordinator = startCli(['coordinator', file, '--bind', endpoint, '--out', out, '--no-progress']);
    const stranger = new zmq.Dealer({ linger: 0, routingId: 'stranger' });
    stranger.connect(endpoint);
    let sent = 0;
    let sending = true;
    const flood = (async () => {
      while (sending) {
        for (const [header, tensors] of forgeries) {
          await stranger.send(encode(header, tensors));
          sent++;
        }
        await stranger.send([Buffer.from('not msgpack at all')]);
        await sleep(5);
      }
    })();
    for (let i = 0; i < 2; i++) startCli(['worker', '--connect', endpoint, '--log-file', join(tmp.dir, `w${i}.jsonl`)]);
    const r = await withDeadline(coordinator.done, 90_000, 'the job');
    sending = false;
    await flood;
    stranger.close();
    expect(r.code, r.stderr).toBe(0);
    expect(sent).toBeGreaterThan(100);
    expect(summaryOf(out)).toMatchObject({ status: 'succeeded', steps: summaryOf(join(tmp.dir, 'ref')).steps });
    expect(await weightsOf(out)).toEqual(await weightsOf(join(tmp.dir, 'ref')));
    // Logged, but not one line each: a flood cannot fill the disk.
    const ignored = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('ignored a message from a process that is not in this job'));
    console.log(`forged: ${sent} forged messages sent, ${ignored.length} log lines about them`);
    expect(ignored.length).toBeGreaterThan(0);
    expect(ignored.length).toBeLessThan(sent / 10);
  });
});
