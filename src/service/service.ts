/**
 * The long-running coordinator of service mode: takes submissions from the
 * stream (intake.ts), answers dtrain.api.* (api-server.ts) and runs the
 * queued jobs one at a time, highest priority first, then in submission
 * order. Job records in the KV bucket are the queue: a restarted
 * coordinator finds its queued jobs there, and queues again the one it was
 * running when it died, which resumes from its latest checkpoint.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { CheckpointError, errorMessage, JobCancelledError, NotFoundError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { serveApi } from './api-server.js';
import { Intake } from './intake.js';
import { JobConflictError, JobStateError, RunningElsewhereError, type JobRecord } from './job-states.js';
import { JobStore } from './job-store.js';
import { loadLatestCheckpoint } from '../coordinator/checkpoints.js';
import { jobOutput, RunningJob, type RunnerContext } from './job-runner.js';
import type { ServiceCaps } from './caps.js';
import type { JobStatus } from './protocol.js';

/** Besides the wake-up at each submission, the queue is looked at this often (jobs queued by another client of the bucket). */
const POLL_MS = 5000;

/** How many times a job that was running when its coordinator died is queued again to resume. */
const MAX_RESUMES = 3;

export interface ServiceOptions extends RunnerContext {
  log: Logger;
  /** One line per job change, for the operator. */
  say: (line: string) => void;
  /** Per-job caps (default DEFAULT_CAPS). */
  caps?: ServiceCaps;
}

export class JobService {
  /** The job being run, and its final record once it has ended. */
  private current: { job: RunningJob; done: Promise<JobRecord> } | undefined;
  private stopping: Error | undefined;
  private wake: () => void = () => undefined;
  private intake: Intake | undefined;
  private subs: Subscription[] = [];
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    readonly store: JobStore,
    private readonly o: ServiceOptions,
  ) {}

  static async start(nc: NatsConnection, jsm: JetStreamManager, o: ServiceOptions): Promise<JobService> {
    const s = new JobService(nc, await JobStore.open(nc), o);
    await s.recover();
    s.intake = new Intake(nc, s.store, o.log, o.submitted, (r) => {
      o.say(`${r.id}: queued (${r.name}, priority ${r.priority})`);
      s.wake();
    }, o.caps);
    await s.intake.start(jsm, jetstream(nc));
    s.subs = serveApi(nc, s, o.log);
    s.loop = s.runLoop();
    return s;
  }

  /**
   * A job that was running when the last coordinator died is queued again
   * (keeping its place: its submission order) and resumes from its latest
   * checkpoint when it runs (job-runner.ts), or from the start if it has none.
   */
  private async recover(): Promise<void> {
    for (const r of await this.store.list()) {
      if (r.state !== 'running') continue;
      try {
        // A job that stopped its coordinator this often (out of memory, say) would starve the queue: it fails instead.
        const resumed = r.history.filter((h) => h.state === 'queued').length - 1;
        if (resumed >= MAX_RESUMES) {
          const reason = `the coordinator stopped while this job ran, ${resumed + 1} times: not resumed again`;
          await this.store.move(r.id, 'failed', { reason });
          this.o.say(`${r.id}: failed (${reason})`);
          continue;
        }
        const { checkpoint, skipped } = loadLatestCheckpoint(jobOutput(this.o.stateDir, r.id));
        if (!checkpoint && skipped.length > 0) throw new CheckpointError(`no checkpoint reads back: ${skipped.map((s) => s.why).join('; ')}`);
        const passed = skipped.length > 0 ? ` (${skipped.length} newer one(s) did not read back)` : '';
        const reason = `the coordinator stopped while this job ran; it resumes ${checkpoint ? `from its checkpoint at step ${checkpoint.step}${passed}` : 'from the start (it had no checkpoint yet)'}`;
        await this.store.move(r.id, 'queued', { reason });
        this.o.say(`${r.id}: queued again (${reason})`);
      } catch (err) {
        // An unreadable checkpoint: the job cannot resume, and must not stay running for ever.
        const reason = `the coordinator stopped while this job ran, and it cannot resume: ${errorMessage(err)}`;
        await this.store.move(r.id, 'failed', { reason }).catch((e: unknown) => this.o.log.warn({ id: r.id, err: errorMessage(e) }, 'could not mark an interrupted job failed'));
        this.o.say(`${r.id}: failed (${reason})`);
      }
    }
  }

  /** The next job to run: highest priority, then earliest submitted. */
  private async next(): Promise<JobRecord | undefined> {
    const queued = (await this.store.list()).filter((r) => r.state === 'queued');
    return queued.sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0];
  }

  private async runLoop(): Promise<void> {
    while (!this.stopping) {
      let r: JobRecord | undefined;
      try {
        r = await this.next();
        if (r) await this.runOne(r);
      } catch (err) {
        this.o.log.error({ err: errorMessage(err), id: r?.id }, 'service loop error');
        r = undefined; // wait before trying again
      }
      if (r || this.stopping) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = () => undefined;
    }
  }

  private async runOne(queued: JobRecord): Promise<void> {
    let r: JobRecord;
    try {
      r = await this.store.move(queued.id, 'running', { output: jobOutput(this.o.stateDir, queued.id) });
    } catch (err) {
      if (err instanceof JobStateError || err instanceof JobConflictError) return; // cancelled, or taken, meanwhile
      throw err;
    }
    const job = new RunningJob(r, this.nc);
    let finish: (r: JobRecord) => void = () => undefined;
    this.current = { job, done: new Promise((resolve) => (finish = resolve)) };
    this.o.say(`${r.id}: running`);
    let last: JobRecord | undefined;
    try {
      const end = await job.run(this.o);
      last = await persistently(() => this.store.move(r.id, end.state, { reason: end.reason, summary: end.summary }), this.o.log);
      this.o.watch?.ended(r.id, end.state, end.reason);
      this.o.say(`${r.id}: ${end.state}${end.reason ? ` (${end.reason})` : ''}`);
    } finally {
      this.current = undefined;
      // The end could not be recorded: a waiting cancel gets whatever the store holds.
      finish(last ?? (await this.store.get(r.id).catch(() => undefined)) ?? r);
    }
  }

  /** The record, with the last progress event while it runs. */
  async status(id: string): Promise<JobStatus | undefined> {
    const r = await this.store.get(id);
    const feed = this.current?.job.record.id === id ? this.current.job.feed : undefined;
    return r && { ...r, ...(feed?.last ? { progress: feed.last } : {}), ...(feed?.lastNote ? { note: feed.lastNote } : {}) };
  }

  /** Cancels a queued job, or stops the running one within a step; resolves with the final record. */
  async cancel(id: string, reason = 'cancelled by request'): Promise<JobRecord> {
    for (;;) {
      const r = await this.store.get(id);
      if (!r) throw new NotFoundError(`no job ${id}`);
      if (r.state === 'queued') {
        try {
          return await this.store.move(id, 'cancelled', { reason });
        } catch (err) {
          if (err instanceof JobConflictError || err instanceof JobStateError) continue; // it started meanwhile: cancel it running
          throw err;
        }
      }
      if (r.state !== 'running') throw new JobStateError(id, r.state, 'cancelled', `job ${id} is ${r.state} already`);
      if (this.current?.job.record.id !== id) throw new RunningElsewhereError(id);
      this.current.job.stop(new JobCancelledError(reason));
      return this.current.done;
    }
  }

  /** Stops taking jobs; the running one ends (failed, with `why`), queued ones stay queued for the next coordinator. */
  async stop(why: string): Promise<void> {
    this.stopping = new Error(why);
    for (const s of this.subs) s.unsubscribe();
    await this.intake?.stop();
    this.current?.job.stop(this.stopping);
    this.wake();
    await this.loop;
  }
}

/** How often, and how far apart, the end of a job is written again when NATS does not take it (a server restarting). */
const PERSIST_TRIES = 15;
const PERSIST_EVERY_MS = 2000;

/** A job's end must reach the store: retried through a NATS outage of up to half a minute. */
async function persistently<T>(write: () => Promise<T>, log: Logger): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await write();
    } catch (err) {
      if (i >= PERSIST_TRIES || err instanceof JobStateError || err instanceof JobConflictError) throw err;
      log.warn({ err: errorMessage(err), attempt: i }, 'could not record the end of a job; trying again');
      await new Promise((r) => setTimeout(r, PERSIST_EVERY_MS));
    }
  }
}
