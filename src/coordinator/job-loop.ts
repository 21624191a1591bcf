/**
 * The coordinator's job, as a message sequence:
 *   A. workers and ps shards join (Membership); ranks follow join order.
 *   B. strategy ps: coordinator → each shard: `psStart` {its slice, the
 *      optimizer, the mode} + the slice's initial values → `psReady`.
 *   C. coordinator → each worker: `start` {job, rank, size, how to reach the
 *      others: right ring neighbour, or the shards and their slices} + the
 *      initial flat parameters; each answers `ready`.
 *   D. per step: coordinator → each worker: `step` {step, epoch, lr,
 *      globalBatch} + its shard's sample indices; workers compute, update
 *      through the ring or the shards, and answer `stepDone` with loss and
 *      counts. Commands go out ahead of the answers (StepGate): one step
 *      ahead in synchronous strategies, so no worker waits on a round trip
 *      to the coordinator between steps; up to s steps ahead of the slowest
 *      worker under bounded staleness. Workers execute them in order.
 *   E. `eval` with a slice of the test set each → `evalDone`.
 *   F. `fetchParams` to rank 0 → `params` (parameters, then batch-norm
 *      moving statistics); the model is saved.
 *   G. `stop` to every worker and shard.
 * Any worker lost or failed rejects whatever is being awaited (ControlPlane).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../shared/backend.js';
import type { DataSplits } from '../shared/data/dataset.js';
import { loadData } from '../shared/data/load.js';
import { layoutOf, readParams, writeParams, writeState } from '../shared/flat.js';
import { asSupervised, psSettings, type JobSpec, type SupervisedJob } from '../shared/job-spec.js';
import type { Logger } from '../shared/log.js';
import { buildJobModel } from '../shared/models/build.js';
import { saveModel } from '../shared/models/save.js';
import type { CollectiveSetup, Message } from '../shared/protocol/messages.js';
import { lrAt } from '../shared/schedule.js';
import { BatchSchedule, planSteps, shardBounds } from '../shared/sharding.js';
import type { ControlPlane } from './control.js';
import type { MemberInfo, Membership, WorkerInfo } from './membership.js';
import type { MetricsSink } from './metrics.js';
import type { Progress } from './progress.js';
import { StepGate } from './step-gate.js';

export interface JobContext {
  spec: JobSpec;
  control: ControlPlane;
  membership: Membership;
  metrics: MetricsSink;
  progress: Progress;
  log: Logger;
  /** Where the trained model is written (tfjs LayersModel format). */
  modelDir: string;
}

export interface JobResult {
  backend: string;
  steps: number;
  epochs: number;
  samples: number;
  trainSeconds: number;
  train: { loss: number; accuracy: number };
  eval: { loss: number; accuracy: number };
}

export async function runJob(ctx: JobContext): Promise<JobResult> {
  const { control, log } = ctx;
  const spec = asSupervised(ctx.spec);
  // Build before the workers are waited for: this is the coordinator's one
  // long synchronous stretch, and no heartbeat is due yet.
  await initBackend('cpu');
  const data = loadData(spec.data, spec.seed);
  const model = await buildJobModel(spec, data);
  const { workers, shards } = await control.guard(ctx.membership.waitForAll());
  ctx.membership.startHeartbeats();
  const initial = readParams(model, layoutOf(model));
  const collective = await startShards(ctx, spec, shards, initial);
  const backend = await startWorkers(ctx, workers, initial, collective);
  const plan = planSteps(data.train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, shards: shards.length, backend }, 'training');
  const t0 = performance.now();
  let samples = 0;
  let window = { loss: 0, correct: 0, count: 0 };
  let last = { loss: NaN, accuracy: NaN };
  const staleness = psSettings(spec.cluster)?.staleness;
  const gate = new StepGate(workers.length, plan.totalSteps, staleness ?? PIPELINE_DEPTH - 1);
  const commands = new Map<number, { cmd: StepHeader; batch: Int32Array; unsent: number }>();
  const reports = new Map<number, Message<'stepDone'>[]>();
  const sendReleased = async () => {
    const sends = gate.release().map(([w, step]) => {
      let c = commands.get(step);
      if (!c) {
        const batch = schedule.batch(step);
        const cmd = { step, epoch: schedule.epochOf(step), lr: lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps), globalBatch: batch.length };
        c = { cmd, batch, unsent: workers.length };
        commands.set(step, c);
      }
      if (--c.unsent === 0) commands.delete(step);
      const [a, b] = shardBounds(c.batch.length, w, workers.length);
      return control.send(workers[w].peer, { type: 'step', ...c.cmd }, [c.batch.slice(a, b)]);
    });
    await Promise.all(sends);
  };
  const nextReport = (w: number) => control.expect(workers[w].peer, 'stepDone').then((m) => ({ w, m }));
  const pending = new Map(workers.map((_, w) => [w, nextReport(w)]));
  await sendReleased();
  while (pending.size > 0) {
    const { w, m } = await Promise.race(pending.values());
    pending.delete(w);
    if (m.header.step + 1 < plan.totalSteps) pending.set(w, nextReport(w));
    const list = reports.get(m.header.step) ?? [];
    list.push(m);
    reports.set(m.header.step, list);
    for (const step of gate.finish(w, m.header.step)) {
      const done = reports.get(step)!;
      reports.delete(step);
      for (const d of done) {
        window.loss += d.header.lossSum;
        window.correct += d.header.correct;
        window.count += d.header.count;
      }
      samples += done.reduce((n, d) => n + d.header.count, 0);
      const rate = samples / ((performance.now() - t0) / 1000);
      ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.loss / window.count, samplesPerSecond: rate });
      if ((step + 1) % spec.train.logEvery === 0 || step + 1 === plan.totalSteps) {
        last = { loss: window.loss / window.count, accuracy: window.correct / window.count };
        const lr = lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps);
        ctx.metrics.log({ epoch: schedule.epochOf(step), lr, loss: last.loss, accuracy: last.accuracy, samplesPerSecond: rate, commMs: Math.max(...done.map((d) => d.header.commMs)) }, step + 1);
        window = { loss: 0, correct: 0, count: 0 };
      }
    }
    await sendReleased();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  ctx.progress.done();
  const evaluation = await evaluate(ctx, workers, data);
  await fetchAndSave(ctx, workers[0], model);
  return { backend, steps: plan.totalSteps, epochs: plan.totalSteps / plan.stepsPerEpoch, samples, trainSeconds, train: last, eval: evaluation };
}

/**
 * Strategy ps: gives each shard its contiguous, equal-sized slice of the
 * parameters with their initial values, and says how workers reach them.
 */
async function startShards(ctx: JobContext, spec: SupervisedJob, shards: MemberInfo[], initial: Float32Array): Promise<CollectiveSetup | undefined> {
  const ps = psSettings(spec.cluster);
  if (!ps) return undefined;
  const k = shards.length;
  const slices = shards.map((s) => {
    const offset = Math.floor((s.rank * initial.length) / k);
    return { endpoint: s.endpoint, offset, length: Math.floor(((s.rank + 1) * initial.length) / k) - offset };
  });
  const { optimizer, clipNorm } = spec.train;
  await Promise.all(
    shards.map((s, i) => {
      const { offset, length } = slices[i];
      const header = { type: 'psStart', index: s.rank, shards: k, workers: ctx.spec.cluster.workers, offset, length, optimizer, heartbeatTimeoutMs: ctx.spec.cluster.heartbeatTimeoutMs } as const;
      return ctx.control.send(s.peer, { ...header, ...(clipNorm === undefined ? {} : { clipNorm }), ...(ps.staleness === undefined ? {} : { staleness: ps.staleness }) }, [initial.subarray(offset, offset + length)]);
    }),
  );
  await Promise.all(shards.map((s) => ctx.control.expect(s.peer, 'psReady')));
  ctx.log.info({ shards: slices }, 'ps shards ready');
  return { strategy: 'ps', shards: slices, ...(ps.staleness === undefined ? {} : { staleness: ps.staleness }) };
}

async function startWorkers(ctx: JobContext, workers: WorkerInfo[], initial: Float32Array, ps: CollectiveSetup | undefined): Promise<string> {
  const job = JSON.parse(JSON.stringify(ctx.spec)) as Record<string, unknown>;
  const ring = (w: WorkerInfo): CollectiveSetup => ({ strategy: 'ring', right: workers[(w.rank + 1) % workers.length].endpoint, chunkBytes: ctx.spec.cluster.chunkBytes });
  await Promise.all(workers.map((w) => ctx.control.send(w.peer, { type: 'start', rank: w.rank, size: workers.length, job, collective: ps ?? ring(w) }, [initial])));
  const ready = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'ready')));
  const backends = [...new Set(ready.map((r) => r.header.backend))];
  for (const reason of new Set(ready.map((r) => `${r.header.backend} (${r.header.backendReason})`))) ctx.progress.note(`backend: ${reason}`);
  for (const r of ready) {
    if (r.header.paramCount !== initial.length) throw new Error(`worker #${r.header.rank} built a model of ${r.header.paramCount} parameters, the coordinator ${initial.length}`);
  }
  return backends.join('+');
}

/** How many steps' commands are out before their answers in synchronous strategies: 2 hides the round trip behind a step. */
const PIPELINE_DEPTH = 2;

interface StepHeader {
  step: number;
  epoch: number;
  lr: number;
  globalBatch: number;
}

async function evaluate(ctx: JobContext, workers: WorkerInfo[], data: DataSplits): Promise<{ loss: number; accuracy: number }> {
  const all = Int32Array.from({ length: data.test.size }, (_, i) => i);
  await Promise.all(
    workers.map((w) => {
      const [a, b] = shardBounds(all.length, w.rank, workers.length);
      return ctx.control.send(w.peer, { type: 'eval', id: 0 }, [all.slice(a, b)]);
    }),
  );
  const res = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'evalDone')));
  const count = res.reduce((s, r) => s + r.header.count, 0);
  return { loss: res.reduce((s, r) => s + r.header.lossSum, 0) / count, accuracy: res.reduce((s, r) => s + r.header.correct, 0) / count };
}

async function fetchAndSave(ctx: JobContext, rank0: WorkerInfo, model: LayersModel): Promise<void> {
  await ctx.control.send(rank0.peer, { type: 'fetchParams' });
  const p = await ctx.control.expect(rank0.peer, 'params');
  writeParams(model, layoutOf(model), p.tensors[0] as Float32Array);
  writeState(model, p.tensors[1] as Float32Array);
  await saveModel(model, ctx.modelDir);
}
