/**
 * One coordinator session: bind the control socket, wait for the workers,
 * run the job, write the outputs, stop the workers. `dtrain run` and
 * `dtrain coordinator` both go through here; `run` also spawns the workers.
 *
 * The job, as a message sequence (every job type follows it; the job
 * type's coordinator side drives C–F with the plumbing in job-context.ts):
 *   A. workers and ps shards join (Membership); ranks follow join order.
 *   B. strategy ps: coordinator → each shard: `psStart` {its slice, the
 *      optimizer, the mode} + the slice's initial values → `psReady`.
 *   C. coordinator → each worker: `start` {job, rank, size, how to reach the
 *      others: right ring neighbour, or the shards and their slices} + the
 *      initial flat parameters and state; each answers `ready`.
 *   D. per step: coordinator → each worker: `step` {step, epoch, lr,
 *      globalBatch, the shard's offset in the batch} + its shard's sample
 *      indices; workers compute, update through the ring or the shards,
 *      and answer `stepDone` with the loss and the job type's counts.
 *      Commands go out ahead of the answers (step-loop.ts).
 *   E. `eval` with a slice of the test set each → `evalDone` (evaluation.ts).
 *   F. `agree` to every worker → `agreed` {CRC-32 of its parameters},
 *      which must all be equal (agreement.ts; `evalDone` carries the same
 *      CRC); then `fetchParams` to rank 0 → `params` (parameters, then
 *      batch-norm moving statistics); the job type saves its networks.
 *   G. `stop` to every worker and shard.
 * Any worker lost or failed rejects whatever is being awaited (ControlPlane).
 */
import type { JobObserver } from '../observe/observer.js';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DtrainError, errorMessage, JobCancelledError, UsageError } from '../util/errors.js';
import { psSettings, type JobSpec } from '../spec/job-spec.js';
import type { Logger } from '../util/log.js';
import { bindRouter } from '../wire/zmq-transport.js';
import type { ClusterKey } from '../wire/cluster-key.js';
import { newSessionKey } from '../wire/frame-seal.js';
import { onRefused } from '../wire/zap.js';
import type { DataPlane } from '../wire/messages.js';
import { ControlPlane } from './control.js';
import { checkpointMetrics, Checkpoints, CHECKPOINTS, type LoadedCheckpoint } from './checkpoints.js';
import type { JobContext, JobResult, JobRunner } from './job-context.js';
import { Membership, type SparePolicy } from './membership.js';
import { JsonlSink, MetricsHub, TensorBoardSink, type MetricsSink } from './metrics.js';
import { PlotSink, PLOTS } from './plot-sink.js';
import { Observers } from '../observe/observer.js';
import { TRACE_FILE, TraceRecorder } from '../observe/trace.js';
import { StragglerWatch } from '../observe/straggler-watch.js';
import type { StragglerSummary } from '../observe/stragglers.js';
import type { Progress } from './progress.js';

export interface SessionOptions {
  spec: JobSpec;
  bind: string;
  outDir: string;
  log: Logger;
  progress: Progress;
  /** Called once the control socket is bound, with its endpoint (to start local workers). */
  onBound?: (endpoint: string, session: Session) => void;
  /** What the session runs once workers join: the job type's coordinator side (src/jobs/registry.ts), or `dtrain attack`'s evaluation. */
  job: JobRunner;
  /** Workers and shards beyond the job's needs (default `turnAway`). Held spares are stopped when the job ends. */
  spares?: SparePolicy;
  /** Hears the summary as it is written, whether the job succeeded or not (service mode records it). */
  onSummary?: (s: Summary) => void;
  /** Resume from this checkpoint (its job is `spec`): the job type starts from its state and step. */
  resume?: LoadedCheckpoint;
  /** More fields for summary.json, after the job's own (`recoveries`). */
  summaryExtras?: Record<string, unknown>;
  /**
   * Whether the job goes on in another session after this one ends with
   * `err`: summary.json is left for the job's end (onSummary still hears
   * this session's), and with `rejoin` its members are told to join again
   * rather than to stop.
   */
  goesOn?: (err: unknown) => boolean;
  rejoin?: boolean;
  /** How long to retry a bind whose address is in use (a session binding where the one before it did). */
  bindRetryMs?: number;
  /** The job as given, for job.json and the checkpoints, where `spec` is this session's (cluster.workers of a regrouped session). */
  recorded?: JobSpec;
  /** The cluster key: the control socket admits only its holders, and the data plane is sealed or encrypted. None: all in clear. */
  key?: ClusterKey;
  /** Hears every finished step and evaluation, with the session's own observers (the timeline, stragglers): Prometheus, the dashboard. */
  observer?: JobObserver;
  /** Hears every metrics line and picture, with the run folder's files (the dashboard). */
  metrics?: MetricsSink;
  /** The largest frame the control socket takes (registry.ts controlFrameLimit); a larger one drops its sender unread. None: no limit. */
  maxFrame?: number;
}

/**
 * summary.json: how the job ended, where it ran, and the job's result; the
 * job type's own sections (JobResult.sections) follow `eval`.
 */
export type Summary = {
  status: 'succeeded' | 'failed' | 'cancelled';
  job: string;
  workers: number;
  strategy: string;
  wallSeconds: number;
  samplesPerSecond: number;
  error?: string;
} & Pick<JobResult, 'backend' | 'steps' | 'epochs' | 'train' | 'eval'> & { [section: string]: unknown };

/** How long an interrupted job may take to reach its checkpoint before it is stopped without one. */
export const INTERRUPT_GRACE_MS = 30_000;

export class Session {
  private interrupted = false;
  private grace: NodeJS.Timeout | undefined;
  constructor(
    readonly control: ControlPlane,
    readonly membership: Membership,
    private readonly checkpoints: Checkpoints,
  ) {}
  /** Ends the job with `err` now (a lost worker, a cancel). */
  fail(err: Error): void {
    this.control.fail(err);
  }
  /**
   * Ctrl-C, SIGTERM: while steps run, the job takes a checkpoint at the next
   * step boundary and then ends with `err`; otherwise, or the second time,
   * it ends now.
   */
  interrupt(err: Error): void {
    if (this.interrupted || !this.checkpoints.active) return this.fail(err);
    this.interrupted = true;
    this.checkpoints.interrupt(err);
    this.grace = setTimeout(() => this.fail(err), INTERRUPT_GRACE_MS).unref();
  }
  /**
   * Workers are waiting to join: end this session at its next checkpoint
   * (the first step boundary once steps run) with `err` (RegroupError), so
   * that the next one takes them. Nothing happens after the last step, or
   * with checkpoints off.
   */
  regroup(err: Error): void {
    if (!this.interrupted) this.checkpoints.interrupt(err);
  }
  /** The job has ended: nothing is left to interrupt. */
  close(): void {
    clearTimeout(this.grace);
  }
}

/** The job spec a session ran, in its output folder. */
export const JOB_FILE = 'job.json';

/** How long `run` waits for workers to exit after `stop` before killing them. */
export const STOP_GRACE_MS = 2000;

export async function runSession(o: SessionOptions): Promise<Summary> {
  const started = performance.now();
  mkdirSync(o.outDir, { recursive: true });
  // The job as it ran (defaults filled in): `dtrain attack` finds a model's data and seed here.
  writeFileSync(join(o.outDir, JOB_FILE), `${JSON.stringify(o.recorded ?? o.spec, null, 2)}\n`);
  const dataPlane = dataPlaneOf(o.spec, o.key);
  onRefused((fields, msg) => o.log.warn(fields, msg));
  const control = new ControlPlane(await bindRouter(o.bind, o.bindRetryMs, o.maxFrame ?? -1, o.key), o.log);
  const membership = new Membership(control, { workers: o.spec.cluster.workers, shards: psSettings(o.spec.cluster)?.shards ?? 0 }, o.spec.cluster.heartbeatTimeoutMs, o.log, o.spares);
  const loop = control.run();
  // A session after an earlier one of this run (a recovery, a resume) starts TensorBoard's session at its step.
  const tensorboard = new TensorBoardSink(join(o.outDir, 'tensorboard'), o.resume?.step ?? (hasFiles(join(o.outDir, 'tensorboard')) ? 0 : undefined));
  // A resumed run's metrics so far, read once from its checkpoint: metrics.jsonl starts with them, the plots draw them.
  const earlier = o.resume ? checkpointMetrics(o.resume.dir) : '';
  const metrics = new MetricsHub([
    new JsonlSink(join(o.outDir, 'metrics.jsonl'), earlier),
    tensorboard,
    new PlotSink(join(o.outDir, PLOTS), earlier),
    ...(o.metrics ? [o.metrics] : []),
  ]);
  // The run folder of a fresh run has no trace.json (a run is never written over): one there is an earlier session's.
  const trace = o.spec.train.trace ? new TraceRecorder(o.spec.name, join(o.outDir, TRACE_FILE)) : undefined;
  const stragglers = new StragglerWatch(o.log, (current, records) => o.observer?.stragglers?.(current, records));
  const observer = new Observers([trace, stragglers, tensorboard, o.observer]);
  control.onDrop = () => observer.droppedMessage();
  // A fresh run starts with no checkpoints: an earlier run's in the same folder are not this run's to resume or keep.
  if (!o.resume) rmSync(join(o.outDir, CHECKPOINTS), { recursive: true, force: true });
  const checkpoints = new Checkpoints(o.outDir, o.spec.train.checkpoint, o.log, o.recorded);
  o.log.info({ endpoint: control.endpoint, job: o.spec.name, workers: o.spec.cluster.workers, ...(o.resume ? { resume: o.resume.dir } : {}) }, 'coordinator listening');
  const session = new Session(control, membership, checkpoints);
  o.onBound?.(control.endpoint, session);
  let result: JobResult | undefined;
  let error: unknown;
  const reached: JobContext['reached'] = { steps: o.resume?.step ?? 0 };
  let goesOn = false;
  let ctx: JobContext | undefined;
  try {
    ctx = { spec: o.spec, control, membership, metrics, progress: o.progress, log: o.log, outDir: o.outDir, checkpoints, reached, dataPlane, ...(o.resume ? { resume: o.resume } : {}), observer };
    result = await o.job(ctx);
  } catch (err) {
    error = control.failed ?? err; // the root cause, not the rejection it caused
  } finally {
    checkpoints.active = false;
    session.close();
    await checkpoints.flush().catch((err: unknown) => o.log.warn({ err: errorMessage(err) }, 'a checkpoint could not be written'));
    o.progress.done();
    membership.stop();
    metrics.close();
    try {
      trace?.write(join(o.outDir, TRACE_FILE));
    } catch (err) {
      o.log.warn({ err: errorMessage(err) }, `${TRACE_FILE} could not be written`);
    }
    goesOn = error !== undefined && (o.goesOn?.(error) ?? false);
    const rejoin = goesOn && o.rejoin === true;
    const reason = error ? `${goesOn ? 'session' : 'job'} ended: ${errorMessage(error)}` : 'job finished';
    // Held spares wait for the job's next session, or are done with it.
    const held = o.spares === 'hold' && !rejoin ? [...membership.spares.keys()] : [];
    await Promise.all([...membership.members.map((w) => w.peer), ...held].map((peer) => control.send(peer, { type: 'stop', reason, rejoin }).catch(() => undefined)));
    // Give the stop messages a moment to leave before the socket closes.
    await new Promise((r) => setTimeout(r, error ? 100 : 300));
    control.close();
    await loop;
    // The workers remove their shared-memory objects; one that was killed before it could is removed here.
    for (const name of ctx?.hostObjects ?? []) rmSync(`/dev/shm${name}`, { force: true });
  }
  const summary = summarize(o, result, error, (performance.now() - started) / 1000, { ...reached, checkpoint: checkpoints.latest, stragglers: stragglers.summary() });
  if (!goesOn) writeFileSync(join(o.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  o.onSummary?.(summary);
  if (error) {
    o.log.error({ err: errorMessage(error) }, 'job failed');
    throw error instanceof Error ? error : new DtrainError(String(error));
  }
  o.log.info(summary, 'job succeeded');
  return summary;
}

/** A session's data plane: a fresh key each session (a member of an earlier one cannot speak in this one). */
function dataPlaneOf(spec: JobSpec, key: ClusterKey | undefined): DataPlane {
  if (spec.cluster.encrypt && !key) throw new UsageError('cluster.encrypt needs a cluster key: the coordinator runs without one (--insecure, or a loopback address with no --key)');
  if (!key) return { mode: 'clear' };
  return spec.cluster.encrypt ? { mode: 'encrypted' } : { mode: 'sealed', key: newSessionKey() };
}

/** How far a job that ended early got: the steps done, the backend and the checkpoint to resume from. */
type Reached = JobContext['reached'] & { checkpoint: string | undefined; stragglers: StragglerSummary };

function summarize(o: SessionOptions, r: JobResult | undefined, error: unknown, wallSeconds: number, reached: Reached): Summary {
  return {
    status: error ? (error instanceof JobCancelledError ? 'cancelled' : 'failed') : 'succeeded',
    job: o.spec.name,
    workers: o.spec.cluster.workers,
    strategy: o.spec.cluster.strategy,
    backend: r?.backend ?? reached.backend ?? 'unknown',
    ...(reached.adapter ? { adapter: reached.adapter } : {}),
    steps: r?.steps ?? reached.steps,
    epochs: r?.epochs ?? 0,
    wallSeconds,
    samplesPerSecond: r && r.trainSeconds > 0 ? r.samples / r.trainSeconds : 0,
    train: r?.train ?? null,
    eval: r?.eval ?? null,
    ...r?.sections,
    ...(reached.skipped ? { skippedSteps: reached.skipped } : {}),
    ...(reached.stragglers.length > 0 ? { stragglers: reached.stragglers } : {}),
    ...(error ? { error: errorMessage(error) } : {}),
    ...(error && reached.checkpoint ? { checkpoint: reached.checkpoint } : {}),
    ...o.summaryExtras,
  };
}

/** Whether `dir` exists and holds a file. */
function hasFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}
