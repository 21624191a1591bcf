/**
 * The coordinator's job, as a message sequence:
 *   A. workers join (Membership); ranks follow join order.
 *   B. coordinator → each worker: `start` {job, rank, size, right neighbour's
 *      ring endpoint} + the initial flat parameters; each answers `ready`.
 *   C. per step: coordinator → each worker: `step` {step, epoch, lr,
 *      globalBatch} + its shard's sample indices; workers compute, all-reduce
 *      among themselves over the ring, update, and answer `stepDone` with
 *      loss and counts. Commands run PIPELINE_DEPTH steps ahead of the
 *      answers, so no worker waits on a round trip to the coordinator
 *      between steps; workers execute them strictly in order.
 *   D. `eval` with a slice of the test set each → `evalDone`.
 *   E. `fetchParams` to rank 0 → `params`; the model is saved.
 *   F. `stop` to every worker.
 * Any worker lost or failed rejects whatever is being awaited (ControlPlane).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../shared/backend.js';
import type { DataSplits } from '../shared/data/dataset.js';
import { loadData } from '../shared/data/load.js';
import { layoutOf, readParams, writeParams } from '../shared/flat.js';
import type { JobSpec } from '../shared/job-spec.js';
import type { Logger } from '../shared/log.js';
import { buildJobModel } from '../shared/models/build.js';
import { saveModel } from '../shared/models/save.js';
import type { Message } from '../shared/protocol/messages.js';
import { lrAt } from '../shared/schedule.js';
import { BatchSchedule, planSteps, shardBounds } from '../shared/sharding.js';
import type { ControlPlane } from './control.js';
import type { Membership, WorkerInfo } from './membership.js';
import type { MetricsSink } from './metrics.js';
import type { Progress } from './progress.js';

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
  const { spec, control, log } = ctx;
  // Build before the workers are waited for: this is the coordinator's one
  // long synchronous stretch, and no heartbeat is due yet.
  await initBackend('cpu');
  const data = loadData(spec.data, spec.seed);
  const model = await buildJobModel(spec, data);
  const workers = await control.guard(ctx.membership.waitForAll());
  ctx.membership.startHeartbeats();
  const backend = await startWorkers(ctx, workers, model);
  const plan = planSteps(data.train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, backend }, 'training');
  const t0 = performance.now();
  let samples = 0;
  let window = { loss: 0, correct: 0, count: 0 };
  let last = { loss: NaN, accuracy: NaN };
  const command = (step: number) => {
    const batch = schedule.batch(step);
    const cmd = { step, epoch: schedule.epochOf(step), lr: lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps), globalBatch: batch.length };
    return { cmd, sent: sendStep(ctx, workers, cmd, batch) };
  };
  const ahead = [];
  for (let s = 0; s < Math.min(PIPELINE_DEPTH, plan.totalSteps); s++) ahead.push(command(s));
  for (let step = 0; step < plan.totalSteps; step++) {
    const { cmd, sent } = ahead.shift()!;
    await sent;
    if (step + PIPELINE_DEPTH < plan.totalSteps) ahead.push(command(step + PIPELINE_DEPTH));
    const done = await collectStep(ctx, workers, step);
    const { lr, globalBatch } = cmd;
    for (const d of done) {
      window.loss += d.header.lossSum;
      window.correct += d.header.correct;
      window.count += d.header.count;
    }
    samples += globalBatch;
    const rate = samples / ((performance.now() - t0) / 1000);
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.loss / window.count, samplesPerSecond: rate });
    if ((step + 1) % spec.train.logEvery === 0 || step + 1 === plan.totalSteps) {
      last = { loss: window.loss / window.count, accuracy: window.correct / window.count };
      ctx.metrics.log({ epoch: schedule.epochOf(step), lr, loss: last.loss, accuracy: last.accuracy, samplesPerSecond: rate, commMs: Math.max(...done.map((d) => d.header.commMs)) }, step + 1);
      window = { loss: 0, correct: 0, count: 0 };
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  ctx.progress.done();
  const evaluation = await evaluate(ctx, workers, data);
  await fetchAndSave(ctx, workers[0], model);
  return { backend, steps: plan.totalSteps, epochs: plan.totalSteps / plan.stepsPerEpoch, samples, trainSeconds, train: last, eval: evaluation };
}

async function startWorkers(ctx: JobContext, workers: WorkerInfo[], model: LayersModel): Promise<string> {
  const initial = readParams(model, layoutOf(model));
  const job = JSON.parse(JSON.stringify(ctx.spec)) as Record<string, unknown>;
  await Promise.all(
    workers.map((w) =>
      ctx.control.send(w.peer, { type: 'start', rank: w.rank, size: workers.length, job, ringRight: workers[(w.rank + 1) % workers.length].ringEndpoint, chunkBytes: ctx.spec.cluster.chunkBytes }, [initial]),
    ),
  );
  const ready = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'ready')));
  const backends = [...new Set(ready.map((r) => r.header.backend))];
  for (const reason of new Set(ready.map((r) => `${r.header.backend} (${r.header.backendReason})`))) ctx.progress.note(`backend: ${reason}`);
  for (const r of ready) {
    if (r.header.paramCount !== initial.length) throw new Error(`worker #${r.header.rank} built a model of ${r.header.paramCount} parameters, the coordinator ${initial.length}`);
  }
  return backends.join('+');
}

/** How many steps' commands are out before their answers: 2 hides the round trip behind a step. */
const PIPELINE_DEPTH = 2;

async function sendStep(ctx: JobContext, workers: WorkerInfo[], cmd: { step: number; epoch: number; lr: number; globalBatch: number }, batch: Int32Array): Promise<void> {
  await Promise.all(
    workers.map((w) => {
      const [a, b] = shardBounds(batch.length, w.rank, workers.length);
      return ctx.control.send(w.peer, { type: 'step', ...cmd }, [batch.slice(a, b)]);
    }),
  );
}

async function collectStep(ctx: JobContext, workers: WorkerInfo[], step: number): Promise<Message<'stepDone'>[]> {
  const done = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'stepDone')));
  for (const d of done) if (d.header.step !== step) throw new Error(`stepDone for step ${d.header.step} while expecting step ${step}`);
  return done;
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
  await saveModel(model, ctx.modelDir);
}
