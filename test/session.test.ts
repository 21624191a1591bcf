/**
 * runSession binds a real ZeroMQ ROUTER (bindRouter), so these tests use
 * ZeroMQ on 127.0.0.1 with in-process fake members (DEALER sockets speaking
 * the protocol) and a trivial job runner.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitForMembers, type JobResult, type JobRunner } from '../src/coordinator/job-context.js';
import { Progress } from '../src/coordinator/progress.js';
import { runSession, type Session, type Summary } from '../src/coordinator/session.js';
import type { JobSpec } from '../src/spec/job-spec.js';
import { JobCancelledError, WorkerFailedError } from '../src/util/errors.js';
import { makeLogger } from '../src/util/log.js';
import { connectDealer } from '../src/wire/zmq-transport.js';
import { FakePeer, until, withDeadline } from './helpers/fake-peer.js';

const spec: JobSpec = {
  name: 'session-test',
  seed: 3,
  type: 'supervised',
  data: { source: 'synthetic', kind: 'blobs', samples: 100, features: 2, classes: 3 },
  cluster: { workers: 2, strategy: 'ring', backend: 'cpu', chunkBytes: 4096, compression: 'none', transport: 'auto', overlap: false, overlapBytes: 262144, heartbeatTimeoutMs: 5000, joinTimeoutMs: 60_000, maxRestarts: 0, minWorkers: 1, encrypt: false },
  train: { epochs: 1, batchSize: 8, lrDecay: { kind: 'none' }, logEvery: 10, onNonFinite: 'fail', trace: false, checkpoint: { minutes: 0, epochEnd: false, keep: 0 } },
};

const result: JobResult = {
  backend: 'fake',
  steps: 3,
  epochs: 1,
  samples: 24,
  trainSeconds: 2,
  train: { loss: 0.5, accuracy: 0.75 },
  eval: { loss: 0.625, accuracy: 0.5 },
  sections: { scores: { fid: 1.5 }, notes: 'made up' },
};

const PIDS = [4101, 4102];

let dir: string;
let peers: FakePeer[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dtrain-session-'));
});

afterEach(async () => {
  await Promise.all(peers.map((p) => p.close()));
  peers = [];
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a session whose members are fake DEALERs that join as soon as the router is bound. */
async function session(job: JobRunner, onBound?: (s: Session) => void): Promise<{ outcome: Promise<Summary>; summaries: Summary[] }> {
  const summaries: Summary[] = [];
  const outcome = runSession({
    spec,
    bind: 'tcp://127.0.0.1:*',
    outDir: dir,
    log: makeLogger({}),
    progress: new Progress(undefined, 'test'),
    job,
    onSummary: (s) => summaries.push(s),
    onBound: (endpoint, s) => {
      expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      peers = PIDS.map((pid) => new FakePeer(connectDealer(endpoint, `fake-${pid}`)));
      for (const [i, p] of peers.entries()) p.join('worker', PIDS[i]).catch(() => undefined); // a lost join shows as a runSession deadline
      onBound?.(s);
    },
  });
  return { outcome: withDeadline(outcome, 15_000, 'runSession'), summaries };
}

const readJson = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

/** Every fake member's stop reason. */
const stops = async () => Promise.all(peers.map(async (p) => (await p.next('stop')).header.reason));

describe('runSession', () => {
  it('writes job.json and summary.json (the sections after eval), stops every member, hears onSummary', async () => {
    let members: string[] = [];
    const { outcome, summaries } = await session(async (ctx) => {
      const { workers } = await waitForMembers(ctx);
      members = workers.map((w) => w.peer).sort();
      ctx.metrics.log({ loss: 0.5 }, 1);
      return result;
    });
    const summary = await outcome;
    expect(members).toEqual(['fake-4101', 'fake-4102']);
    expect(summary).toEqual({
      status: 'succeeded',
      job: 'session-test',
      workers: 2,
      strategy: 'ring',
      backend: 'fake',
      steps: 3,
      epochs: 1,
      wallSeconds: expect.any(Number),
      samplesPerSecond: 12,
      train: result.train,
      eval: result.eval,
      scores: { fid: 1.5 },
      notes: 'made up',
    });
    expect(Object.keys(summary).slice(-4)).toEqual(['train', 'eval', 'scores', 'notes']);
    expect(summary.wallSeconds).toBeGreaterThan(0);
    const written = readJson('summary.json') as Summary;
    expect(written).toEqual(summary);
    expect(Object.keys(written)).toEqual(Object.keys(summary));
    expect(readJson('job.json')).toEqual(spec);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe(`${JSON.stringify({ step: 1, loss: 0.5 })}\n`);
    expect(summaries).toEqual([summary]);
    expect(await stops()).toEqual(['job finished', 'job finished']);
  });

  it('a runner that throws: status failed with its error, members stopped, the error rethrown', async () => {
    const boom = new Error('runner broke');
    const { outcome, summaries } = await session(async (ctx) => {
      await waitForMembers(ctx);
      throw boom;
    });
    await expect(outcome).rejects.toBe(boom);
    const written = readJson('summary.json') as Summary;
    expect(written).toMatchObject({ status: 'failed', error: 'runner broke', job: 'session-test', backend: 'unknown', steps: 0, samplesPerSecond: 0, train: null, eval: null });
    expect(summaries).toEqual([written]);
    expect(readJson('job.json')).toEqual(spec);
    expect(await stops()).toEqual(['job ended: runner broke', 'job ended: runner broke']);
  });

  it('Session.fail with JobCancelledError: status cancelled, the cancel rethrown', async () => {
    let session_: Session | undefined;
    let joined = false;
    const { outcome, summaries } = await session(
      async (ctx) => {
        await waitForMembers(ctx);
        joined = true;
        return ctx.control.guard(new Promise<never>(() => undefined)); // a job that runs until stopped
      },
      (s) => (session_ = s),
    );
    await until(() => joined, 'the members joined');
    session_!.fail(new JobCancelledError('cancelled by the user'));
    await expect(outcome).rejects.toBeInstanceOf(JobCancelledError);
    expect(readJson('summary.json')).toMatchObject({ status: 'cancelled', error: 'cancelled by the user' });
    expect(summaries.map((s) => s.status)).toEqual(['cancelled']);
    expect(await stops()).toEqual(['job ended: cancelled by the user', 'job ended: cancelled by the user']);
  });

  it("a member's failed message is the recorded cause, named by the member's label", async () => {
    let waiting = false;
    const { outcome } = await session(async (ctx) => {
      const { workers } = await waitForMembers(ctx);
      waiting = true;
      // The runner wraps the rejection; the summary still records the root cause.
      await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'stepDone'))).catch((e: unknown) => {
        throw new Error(`gave up: ${String(e)}`);
      });
      return result;
    });
    await until(() => waiting, 'the runner waiting for stepDone');
    await peers[1].send({ type: 'failed', message: 'out of memory' });
    await expect(outcome).rejects.toBeInstanceOf(WorkerFailedError);
    const written = readJson('summary.json') as Summary;
    expect(written.status).toBe('failed');
    expect(written.error).toMatch(/^worker #[01] \(pid 4102 on fake-host\) failed: out of memory$/);
    expect(await stops()).toEqual([expect.stringMatching(/^job ended: worker #[01] \(pid 4102/), expect.stringMatching(/^job ended: worker #[01] \(pid 4102/)]);
  });
});
