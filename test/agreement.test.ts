/**
 * Replica agreement: workers whose parameters differ are found at an
 * evaluation and before a model is saved, named, and fail the job; workers
 * that agree pass. Fake workers answer a real control plane in memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkAgreement } from '../src/coordinator/agreement.js';
import { ControlPlane } from '../src/coordinator/control.js';
import { evaluateTestSet } from '../src/coordinator/evaluation.js';
import type { WorkerInfo } from '../src/coordinator/membership.js';
import { Progress } from '../src/coordinator/progress.js';
import { ReplicaMismatchError } from '../src/util/errors.js';
import { memoryHub } from '../src/wire/memory-transport.js';
import { captureLogger, FakePeer } from './helpers/fake-peer.js';

const worker = (rank: number): WorkerInfo => ({ peer: `w${rank}`, role: 'worker', rank, host: 'h', pid: 100 + rank, endpoint: '', lastSeen: 0 });
const three = [0, 1, 2].map(worker);

describe('checkAgreement', () => {
  it('passes when every worker holds the same parameters', () => {
    expect(() => checkAgreement(three, [7, 7, 7], 'now')).not.toThrow();
  });

  it('names the one worker of three whose parameters differ, and what the others hold', () => {
    expect(() => checkAgreement(three, [7, 9, 7], 'at the evaluation')).toThrow(
      new ReplicaMismatchError('the replicas disagree at the evaluation: worker #1 (pid 101 on h) (crc32 00000009) holds other parameters; the others hold crc32 00000007. Nothing is saved from them.'),
    );
  });

  it('names both of two workers that disagree (no majority), and a worker that sent no checksum', () => {
    expect(() => checkAgreement(three.slice(0, 2), [7, 9], 'now')).toThrow(/worker #0 .*, worker #1 .* hold other parameters\. Nothing is saved/);
    expect(() => checkAgreement(three, [7, undefined, 7], 'now')).toThrow(/worker #1 \(pid 101 on h\) \(crc32 none\) holds other parameters/);
  });
});

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** A control plane with three fake workers answering each `eval` with the given CRCs. */
function rig(crcs: number[]) {
  const { hub, connect } = memoryHub();
  const { log } = captureLogger();
  const control = new ControlPlane(hub, log);
  const loop = control.run();
  const peers = crcs.map((crc, rank) => {
    const p: FakePeer = new FakePeer(connect(`w${rank}`), {
      onMessage: (m) => {
        if (m.header.type === 'eval') void p.send({ type: 'evalDone', id: m.header.id, lossSum: 1, count: m.tensors[0].length, counts: {}, paramsCrc: crc });
      },
    });
    return p;
  });
  cleanup = async () => {
    control.close();
    await loop;
    await Promise.all(peers.map((p) => p.close()));
  };
  return { control, progress: new Progress(undefined, 'test') };
}

describe('an evaluation', () => {
  it('sums the workers’ answers when they agree', async () => {
    const ctx = rig([5, 5, 5]);
    await expect(evaluateTestSet(ctx, three, 30)).resolves.toMatchObject({ lossSum: 3, count: 30 });
  });

  it('fails, naming the poisoned replica, when one holds other parameters', async () => {
    const ctx = rig([5, 6, 5]);
    await expect(evaluateTestSet(ctx, three, 30)).rejects.toThrow(/the replicas disagree at the evaluation: worker #1 \(pid 101 on h\)/);
  });
});
