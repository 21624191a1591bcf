/**
 * The coordinator's step loop, whatever the job type: sends each worker its
 * shard of every step's batch as the StepGate releases it, collects the
 * `stepDone` answers, and reports each step once every worker has finished
 * it. Commands go out ahead of the answers: one step ahead in synchronous
 * strategies (no worker waits on a round trip between steps), up to s steps
 * ahead of the slowest worker under bounded staleness.
 */
import type { Message } from '../wire/messages.js';
import { shardBounds } from '../data/sharding.js';
import type { JobContext } from './job-context.js';
import type { WorkerInfo } from './membership.js';
import { StepGate } from './step-gate.js';
import { epochNow } from '../observe/spans.js';

export interface StepHeader {
  step: number;
  epoch: number;
  lr: number;
  globalBatch: number;
}

export interface StepSource {
  totalSteps: number;
  /** The step's header and its global batch of sample indices (cut into contiguous shards). */
  command(step: number): { header: StepHeader; batch: Int32Array };
}

/** How many steps' commands are out before their answers in synchronous strategies: 2 hides the round trip behind a step. */
const PIPELINE_DEPTH = 2;

/**
 * Runs every step; `onStep` sees each finished step in order with all
 * workers' answers (in rank order) and the samples/s so far, and no further command goes out
 * until the promise it may return settles. Returns the samples trained on.
 */
export async function runSteps(
  ctx: Pick<JobContext, 'control'> & Partial<Pick<JobContext, 'reached' | 'checkpoints' | 'log' | 'observer'>>,
  workers: WorkerInfo[],
  source: StepSource,
  staleness: number | undefined,
  onStep: (step: number, done: Message<'stepDone'>[], samplesPerSecond: number) => void | Promise<void>,
  first = 0,
  holdAfter: (step: number) => boolean = () => false,
): Promise<number> {
  const { control } = ctx;
  const total = source.totalSteps;
  ctx.observer?.planned?.(total);
  const t0 = performance.now();
  let lastDone = t0;
  let samples = 0;
  // A step after which a checkpoint is due is a barrier: its onStep takes the checkpoint before anything later goes out.
  // `holdAfter` adds the job type's own (a GAN's picture steps: rank 0 then holds exactly that step's values).
  const barrier = (step: number) => (ctx.checkpoints?.due(step) ?? false) || holdAfter(step);
  const gate = new StepGate(workers.length, total, staleness ?? PIPELINE_DEPTH - 1, first, barrier);
  const commands = new Map<number, { header: StepHeader; batch: Int32Array; unsent: number }>();
  const reports = new Map<number, Message<'stepDone'>[]>();
  const sendReleased = async () => {
    const t = epochNow();
    const sends = gate.release().map(([w, step]) => {
      let c = commands.get(step);
      if (!c) {
        c = { ...source.command(step), unsent: workers.length };
        commands.set(step, c);
      }
      if (--c.unsent === 0) commands.delete(step);
      const [a, b] = shardBounds(c.batch.length, w, workers.length);
      return control.send(workers[w].peer, { type: 'step', ...c.header, offset: a }, [c.batch.slice(a, b)]);
    });
    await Promise.all(sends);
    if (sends.length > 0) ctx.observer?.span?.('scheduling', t, epochNow());
  };
  const nextReport = (w: number) => {
    const report = control.expect(workers[w].peer, 'stepDone').then((m) => ({ w, m }));
    // Awaited by the race below; if the loop has already thrown, a later
    // rejection (the session failing the control plane) must not surface as
    // an unhandled rejection, which would end the coordinator process.
    report.catch(() => undefined);
    return report;
  };
  const pending = new Map(first < total ? workers.map((_, w) => [w, nextReport(w)]) : []);
  await sendReleased();
  while (pending.size > 0) {
    const { w, m } = await Promise.race(pending.values());
    pending.delete(w);
    if (m.header.step + 1 < total) pending.set(w, nextReport(w));
    const list = reports.get(m.header.step) ?? [];
    // In rank order, whatever order they arrived in: sums over them (loss windows) then repeat to the bit.
    list[w] = m;
    reports.set(m.header.step, list);
    for (const step of gate.finish(w, m.header.step)) {
      const all = reports.get(step)!;
      const done = all.filter((d) => d !== undefined);
      if (ctx.observer) {
        const now = performance.now();
        ctx.observer.step?.(step, all.flatMap((d, i) => (d ? [{ rank: workers[i].rank, host: workers[i].host, ...d.header }] : [])), (now - lastDone) / 1000);
        lastDone = now;
      }
      reports.delete(step);
      samples += done.reduce((n, d) => n + d.header.count, 0);
      if (ctx.reached) ctx.reached.steps = step + 1; // every worker has finished it
      if (step === first) ctx.log?.info({ step: step + 1 }, 'first step done');
      noteSkipped(ctx, step, done);
      await onStep(step, done, samples / ((performance.now() - t0) / 1000));
    }
    await sendReleased();
  }
  return samples;
}

/**
 * A step the workers skipped (train.onNonFinite skip-step: a loss or the
 * summed gradient was not finite) is counted and logged. Every worker sees
 * the same sum, so they skip alike; one that did not would hold other
 * parameters from then on, which fails the job.
 */
function noteSkipped(ctx: Partial<Pick<JobContext, 'reached' | 'log'>>, step: number, done: Message<'stepDone'>[]): void {
  const skipped = done.filter((d) => d.header.skipped).length;
  if (skipped === 0) return;
  if (skipped < done.length) throw new Error(`step ${step + 1}: ${skipped} of ${done.length} workers skipped it as not finite, the others did not: the replicas no longer agree`);
  if (ctx.reached) ctx.reached.skipped = (ctx.reached.skipped ?? 0) + 1;
  ctx.log?.warn({ step: step + 1, skipped: ctx.reached?.skipped }, 'a loss or the summed gradient was NaN or infinite: the step was skipped (train.onNonFinite skip-step)');
}
