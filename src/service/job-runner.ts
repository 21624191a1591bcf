/**
 * Running one service-mode job: a coordinator session on the service's
 * control endpoint, its outputs in STATE_DIR/jobs/<id>/, its progress on
 * NATS and (for the operator) on the terminal. Returns how it ended; the
 * caller records it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { label } from '../coordinator/membership.js';
import { Progress } from '../coordinator/progress.js';
import { runSession, type Session } from '../coordinator/session.js';
import { Regrouping } from '../coordinator/regroup.js';
import { readableCheckpoint, runRecovering } from '../coordinator/recovery.js';
import { errorMessage, JobCancelledError } from '../util/errors.js';
import { controlFrameLimit, jobTypeOf, parseJobSpec } from '../jobs/registry.js';
import { psSettings } from '../spec/job-spec.js';
import type { SubmittedRules } from '../spec/job-file.js';
import { makeLogger } from '../util/log.js';
import type { JobRecord } from './job-states.js';
import { ProgressFeed } from './progress-feed.js';
import type { ClusterKey } from '../wire/cluster-key.js';
import type { ServiceWatch } from './service-watch.js';

export interface RunnerContext {
  /** The control endpoint every job binds in turn; workers started with --serve stay connected to it. */
  bind: string;
  stateDir: string;
  /** Draw each job's progress on stderr (the operator's terminal). */
  terminal: boolean;
  /** What a submitted job may read of this machine (--data-root). */
  submitted: SubmittedRules;
  /** The cluster key every job's members must hold (none: loopback or --insecure). */
  key?: ClusterKey;
  /** Metrics and the dashboard: each job's steps feed them. */
  watch?: ServiceWatch;
}

export interface Ending {
  state: 'succeeded' | 'failed' | 'cancelled';
  reason?: string;
  summary?: Record<string, unknown>;
}

export const jobOutput = (stateDir: string, id: string) => join(stateDir, 'jobs', id);

/** A job being run: its session once bound, its progress, and a way to stop it. */
export class RunningJob {
  readonly feed: ProgressFeed;
  private session: Session | undefined;
  private stopWith: Error | undefined;
  /** Set by stop(): a session that ends is not followed by another. */
  private readonly interrupted: { err?: Error } = {};
  /** Steps done when stop() was called: the summary shows how many more ran. */
  private stopAt: number | undefined;

  constructor(
    readonly record: JobRecord,
    nc: NatsConnection,
  ) {
    this.feed = new ProgressFeed(nc, record.id);
  }

  /** Ends the job within a step (JobCancelledError: cancelled; any other error: failed). */
  stop(err: Error): void {
    if (!this.stopWith) this.stopAt = this.feed.last?.kind === 'step' ? this.feed.last.step : undefined;
    this.stopWith ??= err;
    this.interrupted.err ??= err; // no session after this one
    this.session?.fail(err);
  }

  bound(s: Session): void {
    this.session = s;
    if (this.stopWith) s.fail(this.stopWith);
  }

  async run(ctx: RunnerContext): Promise<Ending> {
    const r = this.record;
    const outDir = jobOutput(ctx.stateDir, r.id);
    mkdirSync(outDir, { recursive: true });
    const log = makeLogger({ file: join(outDir, 'log.jsonl'), base: { pid: process.pid, role: 'coordinator', job: r.id } });
    const progress = new Progress(ctx.terminal ? process.stderr : undefined, r.id);
    progress.listen((e) => this.feed.push(e));
    const watch = ctx.watch?.started(r, progress);
    let summary: Record<string, unknown> | undefined;
    try {
      const spec = parseJobSpec(r.spec, `job ${r.id}`, {}, undefined, ctx.submitted);
      // A job queued again after its coordinator died goes on from its latest checkpoint (that reads back).
      const resume = readableCheckpoint({ outDir, log, progress });
      if (resume) progress.note(`${r.id}: resuming from ${resume.dir} (step ${resume.step})`);
      // A lost worker or shard: the job goes on from its latest checkpoint in a new session, with the workers there are.
      const regrouping = new Regrouping(spec.cluster);
      const maxFrame = await controlFrameLimit(spec);
      await runRecovering(
        spec,
        { outDir, log, progress, ...(watch ? { observer: watch.observer } : {}) },
        (a) =>
          runSession({
            ...regrouping.sessionOptions(a, spec),
            bind: ctx.bind,
            ...(ctx.key ? { key: ctx.key } : {}),
            ...(maxFrame ? { maxFrame } : {}),
            outDir,
            log,
            progress,
            job: jobTypeOf(spec).run,
            spares: 'keep',
            ...(watch ? { observer: watch.observer } : {}),
            ...(watch?.metrics ? { metrics: watch.metrics } : {}),
            onSummary: (s) => {
              summary = s as unknown as Record<string, unknown>;
              a.onSummary(s);
            },
            onBound: (endpoint, s) => {
              this.bound(s);
              const shards = psSettings(spec.cluster)?.shards ?? 0;
              const size = a.spec.cluster.workers;
              progress.note(`${r.id}: waiting for ${size} worker(s)${shards > 0 ? ` and ${shards} ps shard(s)` : ''} on ${endpoint}`);
              s.membership.onJoin = (w, joined, expected) => progress.note(`${r.id}: ${label(w)} joined (${joined}/${expected})`);
              regrouping.watch(s, size);
            },
          }),
        resume,
        this.interrupted,
        regrouping.next,
      );
      return { state: 'succeeded', summary };
    } catch (err) {
      const state = err instanceof JobCancelledError ? 'cancelled' : 'failed';
      // How far it got: the session's summary has no step count for a job that did not finish.
      const last = this.feed.last;
      const reached = last?.kind === 'step' ? { stoppedAtStep: last.step, totalSteps: last.total, ...(this.stopAt === undefined ? {} : { stopRequestedAtStep: this.stopAt }) } : {};
      return { state, reason: errorMessage(err), ...(summary ? { summary: { ...summary, ...reached } } : {}) };
    }
  }
}
