/**
 * DtrainClient: submit jobs to a dtrain coordinator in service mode and
 * follow them, from any TypeScript or JavaScript service.
 *
 *   import { DtrainClient } from 'dtrain/client';
 *   const client = await DtrainClient.connect({ servers: 'nats://127.0.0.1:4222' });
 *   const { id } = await client.submit(jobSpec);
 *   const done = await client.watch(id, { onProgress: (p) => console.log(p) });
 *   await client.close();
 *
 * A submission is stored by JetStream before submit() returns, so it waits
 * for a coordinator that is down. Everything travels as small JSON messages;
 * tensors never go over NATS.
 */
import { randomBytes } from 'node:crypto';
import { createInbox, NoRespondersError, TimeoutError, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { DtrainError, errorMessage, NotFoundError, ServiceError, UsageError } from '../util/errors.js';
import { isFinal, type JobRecord, type JobState } from '../service/job-states.js';
import { JobStore, type JobEvent } from '../service/job-store.js';
import { ensureSubmissionStream } from '../service/intake.js';
import { connectNats, DEFAULT_NATS } from '../service/nats-connect.js';
import { brief, INTERNAL, type Failure, type Issue, type JobBrief, type JobProgress, type JobStatus, type Reply, type SubmitReply } from '../service/protocol.js';
import { publishSubmission } from '../service/submit.js';
import { API, eventsSubject, JOB_ID, progressSubject, SUBMISSIONS_CONSUMER, SUBMISSIONS_STREAM } from '../service/subjects.js';

export type { Failure, Issue, JobBrief, JobEvent, JobProgress, JobRecord, JobState, JobStatus };
export { DtrainError, NotFoundError, ServiceError, UsageError };

export interface ConnectOptions {
  /** nats://HOST:PORT, several comma-separated (default nats://127.0.0.1:4222). */
  servers?: string;
  token?: string;
  /** Path of a NATS .creds file. */
  creds?: string;
  /** A user of the NATS server's configuration (deploy/nats/nats-server.conf: the submitter), with its password. */
  user?: string;
  password?: string;
  /** Connection name shown by the NATS server. */
  name?: string;
  /** How long status, list and submit wait for a coordinator's answer (default 10 s); status and list then read the job store. */
  requestTimeoutMs?: number;
}

export interface SubmitOptions {
  /** The job's id (letters, digits, - and _): default <job name>-<8 hex digits>. */
  id?: string;
  /** Higher runs first; equal priorities run in submission order (default 0). */
  priority?: number;
  /** How long to wait for a coordinator to accept the job (default 10 s); the job stays queued in the stream after that. */
  acceptTimeoutMs?: number;
}

export interface Submitted {
  id: string;
  /** The submission's sequence number in the stream: submission order. */
  seq: number;
  /** The accepted job, or undefined when no coordinator answered in time (the submission waits in the stream). */
  job: JobBrief | undefined;
}

export interface WatchOptions {
  onProgress?: (p: JobProgress) => void;
  onEvent?: (e: JobEvent) => void;
  /** Stops watching (the job goes on); watch() then rejects with an AbortError. */
  signal?: AbortSignal;
}

/**
 * A coordinator answered with a failure: `code` is the reply's (NOT_FOUND,
 * JOB_STATE, RUNNING_ELSEWHERE, BAD_REQUEST, INTERNAL, …; see Failure in
 * service/protocol.ts), `message` its error text. Decide by `code`.
 */
export class ApiError extends DtrainError {
  override readonly code: string;
  readonly issues: Issue[];
  constructor(code: string, message: string, issues: Issue[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.issues = issues;
  }

  /** The error for a failure reply. */
  static of(f: Failure): ApiError {
    return new ApiError(codeOf(f), f.error, f.issues ?? []);
  }
}

/** The coordinator refused a job: `issues` name the bad keys; `code` is the reply's, JOB_SPEC (a bad job) or JOB_EXISTS (a taken id). */
export class JobRefusedError extends ApiError {
  override readonly exitCode = 2;
  constructor(message: string, issues: Issue[], code = 'JOB_SPEC') {
    super(code, message, issues);
  }
}

const REQUEST_TIMEOUT_MS = 10_000;
/** A cancel is answered once the job has stopped. */
const CANCEL_TIMEOUT_MS = 60_000;
/** How long submit() waits for an answer when no coordinator is pulling submissions (one may be starting). */
const NO_COORDINATOR_WAIT_MS = 1000;
/** watch() also asks for the state this often, in case an event was missed (a reconnect). */
const WATCH_POLL_MS = 5000;

export class DtrainClient {
  /** The submissions stream, made sure of once per client. */
  private streamReady: Promise<void> | undefined;

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly owned: boolean,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  static async connect(o: ConnectOptions = {}): Promise<DtrainClient> {
    const { nc, jsm } = await connectNats({ nats: o.servers ?? DEFAULT_NATS, token: o.token, creds: o.creds, user: o.user, password: o.password }, o.name ?? 'dtrain client');
    return new DtrainClient(nc, jetstream(nc), jsm, true, o.requestTimeoutMs);
  }

  /** Uses a connection the caller owns (close() leaves it open). */
  static async fromConnection(nc: NatsConnection, o: Pick<ConnectOptions, 'requestTimeoutMs'> = {}): Promise<DtrainClient> {
    return new DtrainClient(nc, jetstream(nc), await jetstreamManager(nc), false, o.requestTimeoutMs);
  }

  /** Submits a job spec (what a job file holds, as an object). Throws JobRefusedError if the coordinator refuses it. */
  async submit(job: Record<string, unknown>, o: SubmitOptions = {}): Promise<Submitted> {
    const id = o.id ?? newJobId(typeof job.name === 'string' ? job.name : 'job');
    checkJobId(id);
    await (this.streamReady ??= ensureSubmissionStream(this.jsm).catch((err: unknown) => {
      this.streamReady = undefined; // asked again next time
      throw err;
    }));
    const inbox = createInbox();
    // No coordinator pulling from the stream: the job waits for one; say so soon rather than after the whole timeout.
    const timeout = (await this.coordinatorPulling()) ? (o.acceptTimeoutMs ?? this.timeoutMs) : NO_COORDINATOR_WAIT_MS;
    const sub = this.nc.subscribe(inbox, { max: 1, timeout });
    try {
      const ack = await publishSubmission(this.js, JSON.stringify({ job, id, priority: o.priority ?? 0 }), inbox);
      let answer: SubmitReply | undefined;
      try {
        for await (const m of sub) answer = m.json<SubmitReply>();
      } catch (err) {
        if (!isTimeout(err)) throw err;
      }
      if (!answer) return { id, seq: ack.seq, job: undefined };
      if (!answer.ok) throw new JobRefusedError(answer.error, answer.issues ?? [], codeOf(answer));
      return { id, seq: ack.seq, job: answer.job };
    } finally {
      sub.unsubscribe();
    }
  }

  /** The job's record (spec, history, summary) and, while it runs, its last progress. With no coordinator up, read from the job store. Throws NotFoundError (code NOT_FOUND) for an unknown id. */
  async status(id: string): Promise<JobStatus> {
    const r = await this.statusOrUndefined(id);
    if (!r) throw new NotFoundError(`no job ${id}`);
    return r;
  }

  /** Every job (or those in `state`), in submission order. */
  async list(state?: JobState): Promise<JobBrief[]> {
    const r = await this.request<{ jobs: JobBrief[] }>(API.list, state === undefined ? {} : { state }, async () => {
      const all = (await (await JobStore.openExisting(this.nc))?.list()) ?? [];
      return { ok: true, jobs: all.filter((j) => state === undefined || j.state === state).map(brief) };
    });
    return r.jobs;
  }

  /**
   * Cancels a queued job, or stops a running one within a step; resolves once it has ended.
   * A refusal is an ApiError: code NOT_FOUND (no such job), JOB_STATE (it has ended), RUNNING_ELSEWHERE.
   */
  async cancel(id: string, reason?: string): Promise<JobBrief> {
    return (await this.request<{ job: JobBrief }>(API.cancel, { id, ...(reason ? { reason } : {}) }, undefined, CANCEL_TIMEOUT_MS)).job;
  }

  /**
   * Follows a job until it ends: calls back on each progress and state event, resolves with the final record.
   * A job not recorded yet (submitted while no coordinator runs) is waited for; use `signal` (e.g. AbortSignal.timeout) to give up.
   */
  async watch(id: string, o: WatchOptions = {}): Promise<JobRecord> {
    const events = this.nc.subscribe(eventsSubject(id));
    const progress = this.nc.subscribe(progressSubject(id));
    let poll: NodeJS.Timeout | undefined;
    try {
      return await new Promise<JobRecord>((resolve, reject) => {
        // Not recorded yet is not an error: the submission may wait in the stream for a coordinator.
        // A failed request while NATS reconnects is asked again at the next poll; only a closed connection ends the watch.
        const failed = (err: unknown) => {
          if (this.nc.isClosed()) reject(err instanceof Error ? err : new Error(String(err)));
        };
        const check = () =>
          this.statusOrUndefined(id).then((r) => {
            if (r && isFinal(r.state)) resolve(r);
          }, failed);
        const onAbort = () => reject(o.signal?.reason ?? new DOMException('stopped watching', 'AbortError'));
        if (o.signal?.aborted) return onAbort();
        o.signal?.addEventListener('abort', onAbort, { once: true });
        void (async () => {
          for await (const m of events) {
            const e = m.json<JobEvent>();
            o.onEvent?.(e);
            if (isFinal(e.to)) check();
          }
        })();
        void (async () => {
          for await (const m of progress) o.onProgress?.(m.json<JobProgress>());
        })();
        // Subscribed first, then asked: a job that ended before is seen here, one that ends after by its event.
        void this.nc.flush().then(check, failed);
        poll = setInterval(check, WATCH_POLL_MS);
      });
    } finally {
      clearInterval(poll);
      events.unsubscribe();
      progress.unsubscribe();
    }
  }

  async close(): Promise<void> {
    if (this.owned && !this.nc.isClosed()) await this.nc.drain();
  }

  private async coordinatorPulling(): Promise<boolean> {
    try {
      return (await this.jsm.consumers.info(SUBMISSIONS_STREAM, SUBMISSIONS_CONSUMER)).num_waiting > 0;
    } catch {
      return false; // no coordinator has ever started
    }
  }

  private async statusOrUndefined(id: string): Promise<JobStatus | undefined> {
    checkJobId(id);
    try {
      return (
        await this.request<{ job: JobStatus }>(API.status, { id }, async () => {
          const r = await (await JobStore.openExisting(this.nc))?.get(id);
          return r ? { ok: true, job: r } : { ok: false, error: `no job ${id}`, code: NOT_FOUND };
        })
      ).job;
    } catch (err) {
      if (err instanceof DtrainError && err.code === NOT_FOUND) return undefined;
      throw err;
    }
  }

  /**
   * A request to the coordinators. `offline` answers instead when none is
   * running, or none answers in time (a coordinator killed a moment ago may
   * still hold its subscription on the server).
   */
  private async request<T>(subject: string, body: unknown, offline?: () => Promise<Reply<T>>, timeout = this.timeoutMs): Promise<T> {
    let answer: Reply<T>;
    try {
      answer = (await this.nc.request(subject, JSON.stringify(body), { timeout })).json<Reply<T>>();
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const none = err instanceof NoRespondersError || cause instanceof NoRespondersError;
      const silent = err instanceof TimeoutError || cause instanceof TimeoutError;
      if ((none || silent) && offline) answer = await offline();
      else if (none) throw new ServiceError(`no coordinator answers ${subject}: start one with dtrain coordinator --nats URL`, { cause: err });
      else if (silent) throw new ServiceError(`no coordinator answered ${subject} in ${timeout / 1000} s`, { cause: err });
      else throw new ServiceError(`${subject}: ${errorMessage(err)}`, { cause: err });
    }
    if (!answer.ok) throw ApiError.of(answer);
    return answer;
  }
}

/** A failure reply's code; one without (from a coordinator older than codes) reads as INTERNAL. */
function codeOf(f: Failure): string {
  return typeof f.code === 'string' && f.code !== '' ? f.code : INTERNAL;
}

/** The code of an unknown job id, in replies and on NotFoundError. */
const NOT_FOUND = 'NOT_FOUND' satisfies NotFoundError['code'];

/** A subscription or request that got no answer in time (nats-core's TimeoutError, or one it wraps). */
function isTimeout(err: unknown): boolean {
  return err instanceof TimeoutError || (err as { cause?: unknown } | null)?.cause instanceof TimeoutError;
}

/** Throws unless `id` can be a job id (a KV key and one subject token). */
export function checkJobId(id: string): void {
  if (!JOB_ID.test(id)) throw new UsageError(`${JSON.stringify(id)} is not a job id: letters, digits, "-" and "_" only, at most 64`);
}

/** <name>-<8 hex digits>, the name cut to fit a job id. */
export function newJobId(name: string): string {
  return `${name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 55)}-${randomBytes(4).toString('hex')}`;
}
