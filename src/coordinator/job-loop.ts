/**
 * The coordinator's job, as a message sequence:
 *   A. workers and ps shards join (Membership); ranks follow join order.
 *   B. strategy ps: coordinator → each shard: `psStart` {its slice, the
 *      optimizer, the mode} + the slice's initial values → `psReady`.
 *   C. coordinator → each worker: `start` {job, rank, size, how to reach the
 *      others: right ring neighbour, or the shards and their slices} + the
 *      initial flat parameters and state; each answers `ready`.
 *   D. per step: coordinator → each worker: `step` {step, epoch, lr,
 *      globalBatch, the shard's offset in the batch} + its shard's sample
 *      indices; workers compute, update through the ring or the shards,
 *      and answer `stepDone` with loss and
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
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluationNames } from '../jobs/adversarial/spec.js';
import { initBackend } from '../tensor/backend.js';
import { loadJobData } from '../data/load.js';
import { readAllParams, readState, writeAllParams, writeState } from '../tensor/flat.js';
import { asSupervised, psSettings, type AdversarialJob, type JobSpec, type SupervisedJob } from '../spec/job-spec.js';
import type { Dataset } from '../data/dataset.js';
import { GALLERY_FILE, hasGallery, writeGallery } from '../jobs/adversarial/gallery.js';
import type { Logger } from '../util/log.js';
import { buildJobModel } from '../jobs/supervised/model.js';
import { saveModel } from '../tensor/models/save.js';
import type { CollectiveSetup } from '../wire/messages.js';
import { lrAt } from '../tensor/schedule.js';
import { BatchSchedule, planSteps } from '../data/sharding.js';
import type { ControlPlane } from './control.js';
import type { MemberInfo, Membership, WorkerInfo } from './membership.js';
import type { MetricsSink } from './metrics.js';
import type { Progress } from './progress.js';
import type { GanScore } from '../jobs/gan/coordinator.js';
import { runSteps, type StepSource } from './step-loop.js';
import { evaluateTestSet, type RobustAccuracy } from './evaluation.js';

export interface JobContext {
  spec: JobSpec;
  control: ControlPlane;
  membership: Membership;
  metrics: MetricsSink;
  progress: Progress;
  log: Logger;
  /** The run's folder: trained models are written under it (tfjs LayersModel format). */
  outDir: string;
}

export interface JobResult {
  backend: string;
  steps: number;
  epochs: number;
  samples: number;
  trainSeconds: number;
  train: { loss: number; accuracy: number } | null;
  eval: { loss: number; accuracy: number } | null;
  /** GAN jobs: how the generator's samples cover the data's modes, and the last logged losses. */
  gan?: GanScore;
  /** Adversarial jobs: test accuracy under attack at the job's ε. */
  adversarial?: RobustAccuracy;
  /** Adversarial jobs on images: the gallery's file name in the output folder. */
  gallery?: string;
}

export async function runJob(ctx: JobContext): Promise<JobResult> {
  const { control, log } = ctx;
  const spec = asSupervised(ctx.spec);
  // Build before the workers are waited for: this is the coordinator's one
  // long synchronous stretch, and no heartbeat is due yet.
  await initBackend('cpu');
  const data = loadJobData(spec);
  const model = await buildJobModel(spec, data);
  const { workers, shards } = await control.guard(ctx.membership.waitForAll());
  ctx.membership.startHeartbeats();
  const initial = readAllParams([model]);
  const collective = await startShards(ctx, spec, shards, initial);
  const backend = await startWorkers(ctx, workers, [model], collective);
  const plan = planSteps(data.train.size, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, data.train.size, spec.train.batchSize, plan);
  log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, shards: shards.length, backend }, 'training');
  let window = { loss: 0, correct: 0, count: 0 };
  let last = { loss: NaN, accuracy: NaN };
  const source: StepSource = {
    totalSteps: plan.totalSteps,
    command: (step) => {
      const batch = schedule.batch(step);
      return { header: { step, epoch: schedule.epochOf(step), lr: lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps), globalBatch: batch.length }, batch };
    },
  };
  const t0 = performance.now();
  const samples = await runSteps(ctx, workers, source, psSettings(spec.cluster)?.staleness, (step, done, rate) => {
    for (const d of done) {
      window.loss += d.header.lossSum;
      window.correct += d.header.correct;
      window.count += d.header.count;
    }
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.loss / window.count, samplesPerSecond: rate });
    if ((step + 1) % spec.train.logEvery === 0 || step + 1 === plan.totalSteps) {
      last = { loss: window.loss / window.count, accuracy: window.correct / window.count };
      const lr = lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps);
      ctx.metrics.log({ epoch: schedule.epochOf(step), lr, loss: last.loss, accuracy: last.accuracy, samplesPerSecond: rate, commMs: Math.max(...done.map((d) => d.header.commMs)) }, step + 1);
      window = { loss: 0, correct: 0, count: 0 };
    }
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  ctx.progress.done();
  if (spec.type === 'adversarial') ctx.progress.note(`evaluating on ${data.test.size} test samples: clean, ${evaluationNames(spec.adversarial)} at ε ${spec.adversarial.epsilon}`);
  const { result: evaluation, adversarial } = await evaluateTestSet(ctx, workers, data.test.size, spec);
  await fetchAndSave(ctx, workers[0], model);
  const gallery = spec.type === 'adversarial' ? galleryOf(ctx, model, data.test, spec) : undefined;
  return { backend, steps: plan.totalSteps, epochs: plan.totalSteps / plan.stepsPerEpoch, samples, trainSeconds, train: last, eval: evaluation, ...(adversarial ? { adversarial } : {}), ...(gallery ? { gallery } : {}) };
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

/** Starts the job on every worker with the coordinator's parameters and state (batch-norm moving statistics) of `networks`. */
export async function startWorkers(ctx: JobContext, workers: WorkerInfo[], networks: LayersModel[], ps: CollectiveSetup | undefined): Promise<string> {
  const job = JSON.parse(JSON.stringify(ctx.spec)) as Record<string, unknown>;
  const initial = readAllParams(networks);
  const state = readState(networks);
  const ring = (w: WorkerInfo): CollectiveSetup => ({ strategy: 'ring', right: workers[(w.rank + 1) % workers.length].endpoint, chunkBytes: ctx.spec.cluster.chunkBytes });
  await Promise.all(workers.map((w) => ctx.control.send(w.peer, { type: 'start', rank: w.rank, size: workers.length, job, collective: ps ?? ring(w) }, [initial, state])));
  const ready = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'ready')));
  const backends = [...new Set(ready.map((r) => r.header.backend))];
  for (const reason of new Set(ready.map((r) => `${r.header.backend} (${r.header.backendReason})`))) ctx.progress.note(`backend: ${reason}`);
  for (const r of ready) {
    if (r.header.paramCount !== initial.length) throw new Error(`worker #${r.header.rank} built a model of ${r.header.paramCount} parameters, the coordinator ${initial.length}`);
  }
  return backends.join('+');
}

/** Rank 0's current parameters and batch-norm statistics, into the coordinator's copy of the job's networks (in flat-buffer order). */
export async function fetchInto(ctx: JobContext, rank0: WorkerInfo, models: LayersModel[]): Promise<void> {
  await ctx.control.send(rank0.peer, { type: 'fetchParams' });
  const p = await ctx.control.expect(rank0.peer, 'params');
  writeAllParams(models, p.tensors[0] as Float32Array);
  writeState(models, p.tensors[1] as Float32Array);
}

/** Writes the adversarial gallery of the first test images into the output folder (images only); returns its file name. */
export function galleryOf(ctx: JobContext, model: LayersModel, test: Dataset, spec: AdversarialJob): string | undefined {
  if (!hasGallery(test)) return undefined;
  const n = writeGallery(model, test, spec, join(ctx.outDir, GALLERY_FILE));
  ctx.log.info({ file: GALLERY_FILE, images: n }, 'gallery written');
  return GALLERY_FILE;
}

async function fetchAndSave(ctx: JobContext, rank0: WorkerInfo, model: LayersModel): Promise<void> {
  await fetchInto(ctx, rank0, [model]);
  await saveModel(model, join(ctx.outDir, 'model'));
}
