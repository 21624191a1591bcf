/**
 * dtrain.api.*: request/reply for any NATS client, in any language. Bodies
 * and answers are JSON (protocol.ts). submit goes through the work-queue
 * stream like any submission, and is answered once the job is recorded.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { DtrainError, errorMessage, NotFoundError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { JOB_STATES, type JobRecord, type JobState } from './job-states.js';
import type { JobStore } from './job-store.js';
import { brief, failureOf, type CancelRequest, type ListRequest, type StatusRequest } from './protocol.js';
import { publishSubmission } from './submit.js';
import { API, API_QUEUE, JOB_ID } from './subjects.js';
import type { JobStatus } from './protocol.js';

/** What the API needs of the service. */
export interface ApiBackend {
  store: JobStore;
  status(id: string): Promise<JobStatus | undefined>;
  cancel(id: string, reason?: string): Promise<JobRecord>;
}

/** A request the API cannot take: not JSON, no job id, a bad state. */
export class BadRequestError extends DtrainError {
  override readonly code = 'BAD_REQUEST';
}

export function serveApi(nc: NatsConnection, service: ApiBackend, log: Logger): Subscription[] {
  const js = jetstream(nc);
  const handle = (subject: string, fn: (body: unknown, m: Msg) => Promise<unknown | undefined>) =>
    nc.subscribe(subject, {
      queue: API_QUEUE,
      callback: (err, m) => {
        if (err) return log.warn({ subject, err: errorMessage(err) }, 'api subscription error');
        void (async () => {
          let answer: unknown;
          try {
            answer = await fn(parseBody(m), m);
          } catch (e) {
            answer = failureOf(e); // coded: the error's code, INTERNAL if it has none
          }
          if (answer !== undefined && m.reply) m.respond(JSON.stringify(answer));
        })();
      },
    });
  return [
    // The coordinator's intake answers on m.reply once the job is recorded or refused.
    handle(API.submit, async (_body, m) => {
      if (!m.reply) throw new BadRequestError('submit is a request: it needs a reply subject');
      await publishSubmission(js, m.data, m.reply);
      return undefined;
    }),
    handle(API.status, async (body) => {
      const { id } = withJobId<StatusRequest>(body);
      const job = await service.status(id);
      if (!job) throw new NotFoundError(`no job ${id}`);
      return { ok: true, job };
    }),
    handle(API.list, async (body) => {
      const { state } = (body ?? {}) as ListRequest;
      if (state !== undefined && !JOB_STATES.includes(state as JobState)) throw new BadRequestError(`state must be one of ${JOB_STATES.join(', ')}`);
      const jobs = (await service.store.list()).filter((r) => state === undefined || r.state === state);
      return { ok: true, jobs: jobs.map(brief) };
    }),
    handle(API.cancel, async (body) => {
      const { id, reason } = withJobId<CancelRequest>(body);
      // Recorded in the job's history and its event: a short text, or nothing.
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) throw new BadRequestError(`"reason" must be a text of at most ${MAX_REASON} characters`);
      return { ok: true, job: brief(await service.cancel(id, reason)) };
    }),
  ];
}

const MAX_REASON = 1000;

function parseBody(m: Msg): unknown {
  if (m.data.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(m.data));
  } catch {
    throw new BadRequestError('the request body is not JSON');
  }
}

/** A request naming a job: {id, ...}. */
function withJobId<T extends { id: string }>(body: unknown): T {
  const v = (body as Record<string, unknown> | undefined)?.id;
  if (typeof v !== 'string' || v === '') throw new BadRequestError('the request needs "id"');
  if (!JOB_ID.test(v)) throw new BadRequestError(`${JSON.stringify(v)} is not a job id (1 to 64 letters, digits, "-" and "_")`);
  return body as T;
}
