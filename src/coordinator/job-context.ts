/**
 * What a job type's coordinator side is given and returns, and the plumbing
 * every job type shares: waiting for the members, starting the ps shards
 * and the workers with the initial parameters, fetching rank 0's values.
 * The message sequence these take part in is written down in session.ts.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { JobSpec } from '../spec/job-spec.js';
import { readAllParams, readState, writeAllParams, writeState } from '../tensor/flat.js';
import type { Logger } from '../util/log.js';
import type { CollectiveSetup } from '../wire/messages.js';
import type { UpdateRule } from '../worker/reducers/reducer.js';
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
}

/** A job's outcome; the session adds how it ended and the cluster it ran on to make summary.json. */
export interface JobResult {
  backend: string;
  steps: number;
  epochs: number;
  samples: number;
  trainSeconds: number;
  train: { loss: number; accuracy: number } | null;
  eval: { loss: number; accuracy: number } | null;
  /** The job type's own sections of summary.json (e.g. a GAN's scores), written after `eval`. */
  sections?: Record<string, unknown>;
}

/** A job type's coordinator side: runs the job on the session's members and returns its outcome. */
export type JobRunner = (ctx: JobContext) => Promise<JobResult>;

/** Waits until every worker and shard the job needs has joined, then watches their heartbeats. */
export async function waitForMembers(ctx: JobContext): Promise<{ workers: WorkerInfo[]; shards: MemberInfo[] }> {
  const members = await ctx.control.guard(ctx.membership.waitForAll());
  ctx.membership.startHeartbeats();
  return members;
}

/**
 * Strategy ps: gives each shard its contiguous, equal-sized slice of the
 * parameters with their initial values and the update rule, and says how
 * workers reach them. Undefined (strategy ring) when there are no shards.
 */
export async function startShards(ctx: JobContext, shards: MemberInfo[], initial: Float32Array, rule: UpdateRule, staleness: number | undefined): Promise<CollectiveSetup | undefined> {
  if (shards.length === 0) return undefined;
  const k = shards.length;
  const slices = shards.map((s) => {
    const offset = Math.floor((s.rank * initial.length) / k);
    return { endpoint: s.endpoint, offset, length: Math.floor(((s.rank + 1) * initial.length) / k) - offset };
  });
  const { optimizer, clipNorm } = rule;
  await Promise.all(
    shards.map((s, i) => {
      const { offset, length } = slices[i];
      const header = { type: 'psStart', index: s.rank, shards: k, workers: ctx.spec.cluster.workers, offset, length, optimizer, heartbeatTimeoutMs: ctx.spec.cluster.heartbeatTimeoutMs } as const;
      return ctx.control.send(s.peer, { ...header, ...(clipNorm === undefined ? {} : { clipNorm }), ...(staleness === undefined ? {} : { staleness }) }, [initial.subarray(offset, offset + length)]);
    }),
  );
  await Promise.all(shards.map((s) => ctx.control.expect(s.peer, 'psReady')));
  ctx.log.info({ shards: slices }, 'ps shards ready');
  return { strategy: 'ps', shards: slices, ...(staleness === undefined ? {} : { staleness }) };
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
