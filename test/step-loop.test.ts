/** The coordinator's step loop against fake workers on the in-memory transport. */
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../src/coordinator/control.js';
import type { WorkerInfo } from '../src/coordinator/membership.js';
import { runSteps, type StepSource } from '../src/coordinator/step-loop.js';
import { shardBounds } from '../src/data/sharding.js';
import { makeLogger } from '../src/util/log.js';
import { WorkerFailedError } from '../src/util/errors.js';
import { encode } from '../src/wire/codec.js';
import { memoryHub } from '../src/wire/memory-transport.js';
import { parseMessage, type Message } from '../src/wire/messages.js';
import { ClosedError, type Channel } from '../src/wire/transport.js';
import { sleep, until, withDeadline } from './helpers/fake-peer.js';

const BATCH = 10;

/** Step t's global batch: BATCH indices 1000·t + i, the last step's short by 3. */
function source(total: number): StepSource & { calls: number[]; batch(step: number): Int32Array } {
  const batch = (step: number) => Int32Array.from({ length: step === total - 1 ? BATCH - 3 : BATCH }, (_, i) => 1000 * step + i);
  const calls: number[] = [];
  return {
    totalSteps: total,
    calls,
    batch,
    command(step) {
      calls.push(step);
      return { header: { step, epoch: Math.floor(step / 3), lr: 0.5 / (step + 1), globalBatch: BATCH }, batch: batch(step) };
    },
  };
}

/**
 * A worker that answers each `step` with `stepDone` once `allowed` lets it.
 * lagOne: answers step t only once step t+1 has arrived (or t is the last),
 * which deadlocks unless commands go out one step ahead.
 */
class FakeWorker {
  readonly steps: Message<'step'>[] = [];
  answered = 0;
  private readonly loop: Promise<void>;
  constructor(
    readonly rank: number,
    private readonly channel: Channel,
    private readonly total: number,
    private readonly onCommand: (w: FakeWorker, m: Message<'step'>) => void,
    public allowed = Infinity,
    private readonly lagOne = false,
  ) {
    this.loop = this.run();
  }

  release(n: number): Promise<void> {
    this.allowed += n;
    return this.pump();
  }

  send(header: { type: 'stepDone' | 'failed' } & Record<string, unknown>): Promise<void> {
    return this.channel.send(encode(header));
  }

  async close(): Promise<void> {
    this.channel.close();
    await this.loop;
  }

  private async pump(): Promise<void> {
    const last = this.steps.at(-1)?.header.step;
    const ready = this.lagOne && last !== this.total - 1 ? this.steps.length - 1 : this.steps.length;
    while (this.answered < Math.min(ready, this.allowed)) {
      const { header: h, tensors } = this.steps[this.answered++];
      const counts = { correct: this.rank + 1 };
      await this.send({ type: 'stepDone', step: h.step, lossSum: h.step * 10 + this.rank, count: tensors[0].length, computeMs: 2, commMs: 1, counts });
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      let m;
      try {
        m = parseMessage(await this.channel.receive());
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      if (m.header.type !== 'step') continue;
      this.steps.push(m as Message<'step'>);
      this.onCommand(this, m as Message<'step'>);
      await this.pump();
    }
  }
}

interface Rig {
  control: ControlPlane;
  workers: WorkerInfo[];
  fakes: FakeWorker[];
  /** Receipts that broke the bound: a step more than `ahead` past the steps every worker had answered. */
  violations: string[];
  /** The largest (step received − steps answered by the slowest) seen. */
  lead: { max: number };
  loop: Promise<void>;
}

let rig: Rig | undefined;

function setup(n: number, total: number, ahead: number, o: { allowed?: (rank: number) => number; lagOne?: boolean } = {}): Rig {
  const { hub, connect } = memoryHub();
  const control = new ControlPlane(hub, makeLogger({}));
  const workers: WorkerInfo[] = Array.from({ length: n }, (_, rank) => ({ peer: `w${rank}`, role: 'worker', rank, host: 'h', pid: 100 + rank, endpoint: `tcp://10.0.0.9:${rank}`, lastSeen: 0 }));
  const violations: string[] = [];
  const lead = { max: -Infinity };
  const fakes: FakeWorker[] = [];
  const onCommand = (w: FakeWorker, m: Message<'step'>) => {
    const slowest = Math.min(...fakes.map((f) => f.answered));
    lead.max = Math.max(lead.max, m.header.step - slowest);
    if (m.header.step > slowest + ahead) violations.push(`worker ${w.rank} got step ${m.header.step} when the slowest had answered ${slowest}`);
  };
  for (const w of workers) fakes.push(new FakeWorker(w.rank, connect(w.peer), total, onCommand, o.allowed?.(w.rank) ?? Infinity, o.lagOne));
  rig = { control, workers, fakes, violations, lead, loop: control.run() };
  return rig;
}

afterEach(async () => {
  if (!rig) return;
  // As the session does when a job ends early: a loop that threw still has an `expect` out, which this rejects;
  // runSteps marks it handled (vitest reports an unhandled rejection as an error otherwise).
  rig.control.fail(new Error('test over'));
  rig.control.close();
  await rig.loop;
  await Promise.all(rig.fakes.map((f) => f.close()));
  rig = undefined;
});

type Seen = { step: number; ranks: number[]; steps: number[]; sps: number };
const recorder = () => {
  const seen: Seen[] = [];
  const onStep = (step: number, done: Message<'stepDone'>[], sps: number) => {
    seen.push({ step, ranks: done.map((d) => d.header.counts.correct - 1).sort(), steps: done.map((d) => d.header.step), sps });
  };
  return { seen, onStep };
};

describe('runSteps', () => {
  it('synchronous: every worker gets its contiguous shard of each step, in order, one step ahead at most', async () => {
    const total = 7;
    const r = setup(3, total, 1, { lagOne: true });
    const src = source(total);
    const { seen, onStep } = recorder();
    const samples = await withDeadline(runSteps({ control: r.control }, r.workers, src, undefined, onStep), 5000, 'runSteps');
    expect(samples).toBe(6 * BATCH + (BATCH - 3));
    expect(src.calls).toEqual([0, 1, 2, 3, 4, 5, 6]); // each step's command built once
    expect(seen.map((s) => s.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const s of seen) {
      expect(s.ranks).toEqual([0, 1, 2]);
      expect(s.steps).toEqual([s.step, s.step, s.step]);
      expect(s.sps).toBeGreaterThan(0);
      expect(Number.isFinite(s.sps)).toBe(true);
    }
    for (let t = 0; t < total; t++) {
      const batch = src.batch(t);
      const shards = r.fakes.map((f) => f.steps[t]);
      shards.forEach((m, w) => {
        const [a, b] = shardBounds(batch.length, w, 3);
        expect(m.header).toMatchObject({ step: t, epoch: Math.floor(t / 3), lr: 0.5 / (t + 1), globalBatch: BATCH, offset: a });
        expect(Array.from(m.tensors[0])).toEqual(Array.from(batch.slice(a, b)));
      });
      expect(shards.flatMap((m) => Array.from(m.tensors[0]))).toEqual(Array.from(batch)); // the shards tile the batch
    }
    for (const f of r.fakes) expect(f.steps.map((m) => m.header.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.violations).toEqual([]);
    expect(r.lead.max).toBe(1); // the pipeline was used: lagOne would deadlock without it
  });

  const bounds: [string, number | undefined, number][] = [
    ['synchronous (pipeline depth 2)', undefined, 1],
    ['staleness 0 (lockstep)', 0, 0],
    ['staleness 2', 2, 2],
  ];
  for (const [name, staleness, ahead] of bounds) {
    it(`${name}: the fast workers get ${ahead} step(s) past the slowest's answers, no further`, async () => {
      const total = 6;
      const r = setup(3, total, ahead, { allowed: (rank) => (rank === 0 ? 0 : Infinity) });
      const { seen, onStep } = recorder();
      const running = runSteps({ control: r.control }, r.workers, source(total), staleness, onStep);
      const [slow, ...fast] = r.fakes;
      const upTo = (n: number) => Array.from({ length: n + 1 }, (_, i) => i);
      await until(() => fast.every((f) => f.answered === ahead + 1), 'the fast workers at the bound');
      await sleep(50); // a command past the bound would have arrived by now
      for (const f of r.fakes) expect(f.steps.map((m) => m.header.step)).toEqual(upTo(ahead));
      expect(seen).toEqual([]);
      for (let k = 1; k <= 2; k++) {
        await slow.release(1); // each step the slowest finishes lets exactly one more out
        await until(() => seen.length === k && fast.every((f) => f.answered === ahead + 1 + k), `step ${k - 1} done and one more out`);
        for (const f of r.fakes) expect(f.steps.map((m) => m.header.step)).toEqual(upTo(ahead + k));
      }
      await slow.release(Infinity);
      const samples = await withDeadline(running, 5000, 'runSteps');
      expect(samples).toBe((total - 1) * BATCH + (BATCH - 3));
      expect(seen.map((x) => x.step)).toEqual(upTo(total - 1));
      expect(seen.every((x) => x.ranks.join() === '0,1,2')).toBe(true);
      expect(r.violations).toEqual([]);
      expect(r.lead.max).toBe(ahead);
    });
  }

  it('holds further commands until the promise onStep returns settles', async () => {
    const r = setup(2, 4, 1);
    let release: () => void = () => undefined;
    const seen: number[] = [];
    const onStep = (step: number) => {
      seen.push(step);
      if (step === 0) return new Promise<void>((resolve) => (release = resolve));
    };
    const running = runSteps({ control: r.control }, r.workers, source(4), undefined, onStep);
    await until(() => seen.length === 1, 'step 0 reported');
    await sleep(50);
    for (const f of r.fakes) expect(f.steps.map((m) => m.header.step)).toEqual([0, 1]);
    release();
    await withDeadline(running, 5000, 'runSteps');
    expect(seen).toEqual([0, 1, 2, 3]);
    for (const f of r.fakes) expect(f.steps.map((m) => m.header.step)).toEqual([0, 1, 2, 3]);
  });

  it("rejects with WorkerFailedError when a worker reports failed", async () => {
    const r = setup(2, 6, 1, { allowed: (rank) => (rank === 1 ? 1 : Infinity) });
    const seen: number[] = [];
    const running = runSteps({ control: r.control }, r.workers, source(6), undefined, (step) => void seen.push(step));
    await until(() => r.fakes[1].steps.length >= 2, 'worker 1 at step 1');
    await r.fakes[1].send({ type: 'failed', message: 'NaN loss' });
    const err = await withDeadline(running, 5000, 'runSteps').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkerFailedError);
    expect((err as Error).message).toBe('w1 failed: NaN loss');
    expect(seen).toEqual([0]);
  });

  it('rejects a worker that reports a step out of order', async () => {
    const r = setup(1, 3, 1, { allowed: () => 0 });
    const running = runSteps({ control: r.control }, r.workers, source(3), undefined, () => undefined);
    await until(() => r.fakes[0].steps.length === 2, 'two steps out');
    await r.fakes[0].send({ type: 'stepDone', step: 1, lossSum: 0, count: 1, computeMs: 0, commMs: 0, counts: {} });
    await expect(withDeadline(running, 5000, 'runSteps')).rejects.toThrow('worker #0 reported step 1, expected 0');
  });
});
