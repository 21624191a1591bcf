/**
 * What a job type's coordinator side is given and returns, and the plumbing
 * every job type shares: waiting for the members, starting the ps shards
 * and the workers with the initial parameters, fetching rank 0's values.
 * The message sequence these take part in is written down in session.ts.
 */
import { shardPeerId } from '../ps/peer-id.js';
import { randomBytes } from 'node:crypto';
import type { JobObserver } from '../observe/observer.js';
import { epochNow } from '../observe/spans.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { psSettings, type JobSpec } from '../spec/job-spec.js';
import { JoinTimeoutError, RegroupError } from '../util/errors.js';
import { checkAgreement } from './agreement.js';
import { readAllParams, readState, writeAllParams, writeState } from '../tensor/flat.js';
import { hasReplicaState } from '../tensor/layers/sync-batch-norm.js';
import { loadSavedInto } from '../tensor/models/save.js';
import { joinStates, packStates, sliceState, unpackStates, type OptimizerState } from '../tensor/optimizers/index.js';
import type { Logger } from '../util/log.js';
import type { CollectiveSetup, DataPlane, Message } from '../wire/messages.js';
import type { UpdateRule } from '../worker/reducers/reducer.js';
import type { Checkpoints, LoadedCheckpoint } from './checkpoints.js';
import type { ControlPlane } from './control.js';
import type { MemberInfo, Membership, WorkerInfo } from './membership.js';
import type { MetricsSink } from './metrics.js';
import type { Progress } from './progress.js';

export interface JobContext {
  spec: JobSpec;
  control: ControlPlane;
  membership: Membership;
  metrics: MetricsSink;
  progress: Progress;
  log: Logger;
  /** The run's folder: trained models are written under it (tfjs LayersModel format). */
  outDir: string;
  /** The run's checkpoints: when one is due, where the last one is. */
  checkpoints: Checkpoints;
  /** Set when the run resumes from a checkpoint: the job type starts from its state and step. */
  resume?: LoadedCheckpoint;
  /** How far the job got: steps completed, the workers' backend (the summary of a job that ends early reports them). */
  reached: { steps: number; backend?: string; adapter?: string; skipped?: number };
  /** How this session's ring and ps links are protected (its key, when sealed, is this session's alone). */
  dataPlane: DataPlane;
  /** Shared-memory objects this session named (the workers remove them; the session end makes sure). */
  hostObjects?: string[];
  /** The workers, on one machine, each update their own range of the parameters: their optimizer states are slices. */
  optimizerSharded?: boolean;
  /** Hears every finished step, evaluation and span of the coordinator's work (timeline, stragglers, Prometheus, dashboard). */
  observer?: JobObserver;
}

/** A window's or the test set's mean loss, and accuracy (classes) or mean absolute error (regression). */
export interface Scores {
  loss: number;
  accuracy?: number;
  meanAbsoluteError?: number;
  /** The model module's metrics, each its mean over the samples. */
  [metric: string]: number | undefined;
}

/** A job's outcome; the session adds how it ended and the cluster it ran on to make summary.json. */
export interface JobResult {
  backend: string;
  steps: number;
  epochs: number;
  samples: number;
  trainSeconds: number;
  train: Scores | null;
  eval: Scores | null;
  /** The job type's own sections of summary.json (e.g. a GAN's scores), written after `eval`. */
  sections?: Record<string, unknown>;
}

/** A job type's coordinator side: runs the job on the session's members and returns its outcome. */
export type JobRunner = (ctx: JobContext) => Promise<JobResult>;

/**
 * Waits until every worker and shard the job needs has joined, then watches
 * their heartbeats; fails after cluster.joinTimeoutMs, saying who is missing.
 */
export async function waitForMembers(ctx: JobContext): Promise<{ workers: WorkerInfo[]; shards: MemberInfo[] }> {
  const { workers, joinTimeoutMs } = ctx.spec.cluster;
  const shards = ctx.membership.shards;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const want = psSettings(ctx.spec.cluster)?.shards ?? 0;
      const missing = [`${ctx.membership.workers.length} of ${workers} worker(s)`, ...(want > 0 ? [`${shards.length} of ${want} ps shard(s)`] : [])].join(' and ');
      reject(new JoinTimeoutError(`only ${missing} joined within cluster.joinTimeoutMs (${joinTimeoutMs} ms): start the missing ones with dtrain worker (or dtrain ps) --connect, or lower cluster.workers`));
    }, joinTimeoutMs);
  });
  try {
    const members = await ctx.control.guard(Promise.race([ctx.membership.waitForAll(), timeout]));
    ctx.membership.startHeartbeats();
    return members;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Strategy ps: gives each shard its contiguous, equal-sized slice of the
 * parameters with their initial values and the update rule, and says how
 * workers reach them. Undefined (strategy ring) when there are no shards.
 */
export async function startShards(
  ctx: JobContext,
  shards: MemberInfo[],
  workers: MemberInfo[],
  initial: Float32Array,
  rule: UpdateRule,
  staleness: number | undefined,
  optimizer?: OptimizerState | null,
): Promise<CollectiveSetup | undefined> {
  if (shards.length === 0) return undefined;
  const k = shards.length;
  const slices = shards.map((s) => {
    const offset = Math.floor((s.rank * initial.length) / k);
    return { endpoint: s.endpoint, offset, length: Math.floor(((s.rank + 1) * initial.length) / k) - offset };
  });
  const { clipNorm } = rule;
  await Promise.all(
    shards.map((s, i) => {
      const { offset, length } = slices[i];
      // Resuming: the shard's part of the whole optimizer state (the optimizers are element-wise).
      const resumed = packStates([optimizer ? sliceState(optimizer, offset, length) : null]);
      const header = { type: 'psStart', index: s.rank, shards: k, workers: ctx.spec.cluster.workers, peers: workers.map((w) => shardPeerId(w.peer, w.rank)), offset, length, optimizer: rule.optimizer, heartbeatTimeoutMs: ctx.spec.cluster.heartbeatTimeoutMs, optimizerState: resumed.meta[0], dataPlane: ctx.dataPlane } as const;
      return ctx.control.send(s.peer, { ...header, ...(clipNorm === undefined ? {} : { clipNorm }), ...(staleness === undefined ? {} : { staleness }) }, [initial.subarray(offset, offset + length), resumed.data]);
    }),
  );
  await Promise.all(shards.map((s) => ctx.control.expect(s.peer, 'psReady')));
  ctx.log.info({ shards: slices }, 'ps shards ready');
  return { strategy: 'ps', shards: slices, ...(staleness === undefined ? {} : { staleness }) };
}

/**
 * Starts the job on every worker with the coordinator's parameters and state
 * (batch-norm moving statistics) of `networks`, and, resuming, the optimizer
 * states the workers apply.
 */
export async function startWorkers(
  ctx: JobContext,
  workers: WorkerInfo[],
  networks: LayersModel[],
  ps: CollectiveSetup | undefined,
  optimizers: (OptimizerState | null)[] = [],
  replicaStates?: Float32Array[],
): Promise<string> {
  const job = JSON.parse(JSON.stringify(ctx.spec)) as Record<string, unknown>;
  const initial = readAllParams(networks);
  // Resuming replicas that keep their own state (batch-norm local): each its own, by rank.
  const stateOf = (w: WorkerInfo) => (replicaStates?.length === workers.length ? replicaStates[w.rank] : readState(networks));
  const compression = ctx.spec.cluster.compression === 'none' ? {} : { compression: ctx.spec.cluster.compression };
  const host = ps ? undefined : hostSum(ctx, workers);
  ctx.optimizerSharded = host !== undefined;
  const ring = (w: WorkerInfo): CollectiveSetup => ({ strategy: 'ring', right: workers[(w.rank + 1) % workers.length].endpoint, chunkBytes: ctx.spec.cluster.chunkBytes, ...compression, ...(host ? { host } : {}) });
  const resumed = packStates(optimizers);
  await Promise.all(workers.map((w) => ctx.control.send(w.peer, { type: 'start', rank: w.rank, size: workers.length, job, collective: ps ?? ring(w), dataPlane: ctx.dataPlane, optimizers: resumed.meta }, [initial, stateOf(w), resumed.data])));
  const ready = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'ready')));
  const backends = [...new Set(ready.map((r) => r.header.backend))];
  for (const reason of new Set(ready.map((r) => `${r.header.backend} (${r.header.backendReason})`))) ctx.progress.note(`backend: ${reason}`);
  for (const r of ready) {
    if (r.header.paramCount !== initial.length) throw new Error(`worker #${r.header.rank} built a model of ${r.header.paramCount} parameters, the coordinator ${initial.length}`);
  }
  ctx.reached.backend = backends.join('+');
  const adapters = [...new Set(ready.flatMap((r) => (r.header.adapter ? [r.header.adapter] : [])))];
  if (adapters.length > 0) ctx.reached.adapter = adapters.join(' + ');
  return ctx.reached.backend;
}

/**
 * Where every worker shares one machine (the same machine id in their
 * joins), the ring's sums go through a shared-memory object named here,
 * fresh for each start; otherwise (or cluster.transport tcp, or
 * compression, which only the ring does) over the ring's sockets.
 */
function hostSum(ctx: JobContext, workers: WorkerInfo[]): { name: string } | undefined {
  const c = ctx.spec.cluster;
  const machine = workers[0]?.machine;
  const one = workers.length > 1 && machine !== undefined && workers.every((w) => w.machine === machine);
  if (!one || c.transport !== 'auto' || c.compression !== 'none') {
    if (workers.length > 1) ctx.log.info({ transport: c.transport, compression: c.compression, oneMachine: one }, 'gradient sums over the ring\'s TCP links');
    return undefined;
  }
  const name = `/dtrain-${randomBytes(8).toString('hex')}`;
  (ctx.hostObjects ??= []).push(name);
  ctx.progress.note(`sums: shared memory (all ${workers.length} workers on one machine)`);
  return { name };
}

/**
 * Rank 0's current parameters and batch-norm statistics, into the
 * coordinator's copy of the job's networks (in flat-buffer order). (The
 * optimizer states a checkpoint keeps come from fetchCheckpointState: on
 * one machine rank 0 holds only its slice.)
 */
export async function fetchInto(ctx: JobContext, rank0: WorkerInfo, models: LayersModel[]): Promise<void> {
  const [p] = await fetchParams(ctx, [rank0], true);
  intoModels(p, models);
}

/**
 * The job's final values, from workers that agree on them: every worker
 * answers `agree` with the CRC of its (refreshed) parameters, and only
 * once they are equal are rank 0's fetched into `models` (to be saved).
 */
export async function fetchAgreed(ctx: JobContext, workers: WorkerInfo[], models: LayersModel[]): Promise<void> {
  await Promise.all(workers.map((w) => ctx.control.send(w.peer, { type: 'agree' })));
  const answers = await Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'agreed')));
  checkAgreement(workers, answers.map((a) => a.header.paramsCrc), 'at the end of the job');
  // Every worker has just pulled: rank 0 need not (a pull by it alone would put its collective counter out of step).
  const [p] = await fetchParams(ctx, [workers[0]], false);
  intoModels(p, models);
}

/** Each worker's `params` answer: its parameters, state and own optimizer states (`refresh`: see the message's header). */
async function fetchParams(ctx: JobContext, workers: WorkerInfo[], refresh: boolean): Promise<Message<'params'>[]> {
  await Promise.all(workers.map((w) => ctx.control.send(w.peer, { type: 'fetchParams', refresh })));
  return Promise.all(workers.map((w) => ctx.control.expect(w.peer, 'params')));
}

/** A `params` answer's parameters and state into `models`; returns its optimizer states. */
function intoModels(p: Message<'params'>, models: LayersModel[]): (OptimizerState | null)[] {
  writeAllParams(models, p.tensors[0] as Float32Array);
  writeState(models, p.tensors[1] as Float32Array);
  return unpackStates({ meta: p.header.optimizers, data: p.tensors[2] as Float32Array });
}

/** The parameter servers' parameters and optimizer state, joined from their slices (between steps, when no round is open). */
export async function fetchShardState(ctx: JobContext, shards: MemberInfo[]): Promise<{ params: Float32Array; optimizer: OptimizerState }> {
  await Promise.all(shards.map((s) => ctx.control.send(s.peer, { type: 'psFetch' })));
  const replies = await Promise.all(shards.map((s) => ctx.control.expect(s.peer, 'psState')));
  const parts = replies.map((r) => unpackStates({ meta: [r.header.optimizerState], data: r.tensors[1] as Float32Array })[0]);
  if (parts.some((p) => !p)) throw new Error('a ps shard sent no optimizer state');
  const slices = replies.map((r) => r.tensors[0] as Float32Array);
  const params = new Float32Array(slices.reduce((n, p) => n + p.length, 0));
  slices.reduce((at, p) => (params.set(p, at), at + p.length), 0);
  return { params, optimizer: joinStates(parts as OptimizerState[]) };
}

/**
 * The state a checkpoint keeps of the job's networks: rank 0's parameters
 * and batch-norm state into `models`, every replica's state where replicas
 * keep their own (batch-norm local), and the optimizer states wherever they
 * live (the workers in strategy ring, the shards in strategy ps; on one
 * machine each worker holds the slice of its own range). No worker
 * is asked to refresh: a ring replica is always current, a ps worker's
 * parameters come from the shards instead, and a pull by some workers only
 * would put their collective counters out of step with the others'.
 */
export async function fetchCheckpointState(
  ctx: JobContext,
  workers: WorkerInfo[],
  shards: MemberInfo[],
  models: LayersModel[],
): Promise<{ optimizers: (OptimizerState | null)[]; optimizersAt: 'workers' | 'shards'; replicaStates?: Float32Array[] }> {
  const replicas = workers.length > 1 && models.some((m) => hasReplicaState(m));
  const sharded = ctx.optimizerSharded === true && shards.length === 0;
  const replies = await fetchParams(ctx, replicas || sharded ? workers : [workers[0]], false);
  let own = intoModels(replies[0], models);
  // Sharded on one machine: the update's state (the first) is the workers' slices, in rank order; the others are whole.
  if (sharded && own[0]) {
    const slices = replies.map((r) => unpackStates({ meta: r.header.optimizers, data: r.tensors[2] as Float32Array })[0]);
    own = [joinStates(slices as OptimizerState[]), ...own.slice(1)];
  }
  const some = replicas ? { replicaStates: replies.map((r) => (r.tensors[1] as Float32Array).slice()) } : {};
  if (shards.length === 0) return { optimizers: own, optimizersAt: 'workers', ...some };
  const { params, optimizer } = await fetchShardState(ctx, shards);
  writeAllParams(models, params);
  return { optimizers: [optimizer], optimizersAt: 'shards', ...some };
}

/** What a job type checkpoints besides its networks' values and the optimizers. */
export interface CheckpointParts {
  workers: WorkerInfo[];
  shards: MemberInfo[];
  /** The coordinator's copies of the job's networks, by folder name, in flat-buffer order. */
  networks: Record<string, LayersModel>;
  /** The job type's own loop state (metric windows, pictures…), as JSON. */
  loop(): Record<string, unknown>;
}

/**
 * Called by a job type once `step` is done and reported: takes a checkpoint
 * if one is due there (the step loop has held the next step's commands),
 * and ends the job if it was interrupted.
 */
export async function checkpointAfter(ctx: JobContext, step: number, parts: CheckpointParts): Promise<void> {
  if (!ctx.checkpoints.due(step)) return;
  const t0 = performance.now();
  const started = epochNow();
  const models = Object.values(parts.networks);
  const state = await fetchCheckpointState(ctx, parts.workers, parts.shards, models);
  const { optimizers, optimizersAt, replicaStates } = state;
  await ctx.checkpoints.save({ step: step + 1, spec: ctx.spec, networks: parts.networks, optimizers, optimizersAt, loop: parts.loop(), ...(replicaStates ? { replicaStates } : {}) });
  // The time the steps were held: fetching the state and copying it (the files are written in the background).
  ctx.log.info({ step: step + 1, heldMs: performance.now() - t0 }, 'checkpoint taken');
  ctx.observer?.span?.('checkpoint', started, epochNow());
  const stop = ctx.checkpoints.stopping;
  if (stop) {
    await ctx.checkpoints.flush();
    if (!(stop instanceof RegroupError)) ctx.progress.note(`checkpoint at step ${step + 1}: resume with dtrain run --resume ${ctx.outDir}`);
    throw stop;
  }
}

/** The members a training job runs on, once they are started. */
export interface StartedMembers {
  workers: WorkerInfo[];
  shards: MemberInfo[];
  /** The workers' compute backend. */
  backend: string;
  /** Strategy ps's staleness (undefined: synchronous). */
  staleness: number | undefined;
  /** The coordinator's copies of the networks, by folder name, in flat-buffer order (what checkpoints save). */
  networks: Record<string, LayersModel>;
}

/**
 * The start of a job whose networks train under the job's gradient
 * strategy: the networks resumed from the checkpoint if there is one, the
 * members waited for, then the ps shards (strategy ps) and the workers
 * started with the networks' values (`networks` in flat-buffer order) and
 * the checkpoint's optimizer states, `rule` applied wherever they live.
 */
export async function startTraining(ctx: JobContext, networks: Record<string, LayersModel>, rule: UpdateRule): Promise<StartedMembers> {
  const ps = psSettings(ctx.spec.cluster);
  const resumed = await restoreCheckpoint(ctx, networks, ps !== undefined);
  const { workers, shards } = await waitForMembers(ctx);
  const list = Object.values(networks);
  const collective = await startShards(ctx, shards, workers, readAllParams(list), rule, ps?.staleness, resumed.shards);
  const backend = await startWorkers(ctx, workers, list, collective, resumed.workers, resumed.replicaStates);
  return { workers, shards, backend, staleness: ps?.staleness, networks };
}

/**
 * Resuming: the checkpoint's networks into the freshly built `networks`
 * (values and batch-norm state), and the optimizer states for where this
 * run applies them. Throws if the checkpoint's optimizers live elsewhere
 * (it was taken under the other strategy).
 */
export async function restoreCheckpoint(
  ctx: JobContext,
  networks: Record<string, LayersModel>,
  hasShards: boolean,
): Promise<{ workers: (OptimizerState | null)[]; shards: OptimizerState | null; replicaStates?: Float32Array[] }> {
  const r = ctx.resume;
  if (!r) return { workers: [], shards: null };
  for (const [name, model] of Object.entries(networks)) {
    if (!(await loadSavedInto(r.network(name), model))) throw new Error(`${r.network(name)}: the checkpoint's ${name} does not match the job's`);
  }
  const at = hasShards ? 'shards' : 'workers';
  if (r.optimizersAt !== at) throw new Error(`${r.dir}: its optimizer states are on the ${r.optimizersAt}, this run keeps them on the ${at}: resume with the strategy it ran with`);
  const replicas = r.replicaStates ? { replicaStates: r.replicaStates } : {};
  return hasShards ? { workers: [], shards: r.optimizers[0] ?? null, ...replicas } : { workers: r.optimizers, shards: null, ...replicas };
}
