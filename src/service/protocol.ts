/**
 * The JSON messages of service mode. A submission (on dtrain.submit, or a
 * request on dtrain.api.submit) is {job, id?, priority?}; every answer is
 * {ok: true, ...} or {ok: false, error, code, issues?}, issues naming the bad
 * keys of a refused job. A client decides by `code`, never by `error`'s text.
 */
import { z } from 'zod';
import type { ProgressEvent } from '../coordinator/progress.js';
import { DtrainError, errorMessage } from '../util/errors.js';
import type { JobRecord, JobState } from './job-states.js';
import { JOB_ID } from './subjects.js';

export const submissionSchema = z
  .object({
    /** The job spec: what a job file holds, as an object. */
    job: z.unknown(),
    /** Chosen by the submitter (a client makes one); by default job-<stream sequence>. */
    id: z.string().regex(JOB_ID, 'letters, digits, "-" and "_" only, at most 64').optional(),
    /** Higher runs first; equal priorities run in submission order. */
    priority: z.number().int().min(-1000).max(1000).default(0),
  })
  .strict();
export type Submission = z.input<typeof submissionSchema>;

export interface Issue {
  /** The key of the job (or of the submission) at fault, e.g. train.optimizer.lr; '' for the whole. */
  key: string;
  message: string;
}

/**
 * A failure's `code`, for programs to decide by: the thrown error's code
 * (src/util/errors.ts and job-states.ts), among them
 *  - JOB_SPEC: a submission refused, `issues` naming the bad keys;
 *  - JOB_EXISTS: a submission's id is taken (`issues` names the id);
 *  - NOT_FOUND: no job has the id asked for;
 *  - JOB_STATE: the job cannot make the move (a cancel of a job that has ended);
 *  - RUNNING_ELSEWHERE: the job runs on another coordinator (asking again may reach it);
 *  - BAD_REQUEST: the request is malformed (not JSON, no id, a bad state);
 *  - INTERNAL: anything else (the coordinator's own failure).
 */
export type Failure = { ok: false; error: string; code: string; issues?: Issue[] };

/** The code of a failure that no error class names. */
export const INTERNAL = 'INTERNAL';

/** The failure reply for a thrown error: its code if it is one of ours, INTERNAL otherwise. */
export function failureOf(err: unknown, issues?: Issue[]): Failure {
  return { ok: false, error: errorMessage(err), code: err instanceof DtrainError ? err.code : INTERNAL, ...(issues ? { issues } : {}) };
}

export type Reply<T> = ({ ok: true } & T) | Failure;

/** A job without its spec and summary: what lists and answers carry. */
export interface JobBrief {
  id: string;
  name: string;
  state: JobState;
  priority: number;
  seq: number;
  submittedAt: string;
  startedAt?: string;
  endedAt?: string;
  reason?: string;
  /** Where the coordinator writes the job's outputs (on its machine). */
  output?: string;
}

/** A step progress event as published on dtrain.jobs.<id>.progress. */
export type JobProgress = ProgressEvent & { id: string; at: string };

/** dtrain.api.status's answer: the whole record, with the last progress (a step or count) and the last note (what it waits for) while it runs. */
export type JobStatus = JobRecord & { progress?: JobProgress; note?: JobProgress };

export type SubmitReply = Reply<{ job: JobBrief }>;
export type StatusReply = Reply<{ job: JobStatus }>;
export type ListReply = Reply<{ jobs: JobBrief[] }>;
export type CancelReply = Reply<{ job: JobBrief }>;

export interface StatusRequest {
  id: string;
}
export interface ListRequest {
  state?: JobState;
}
export interface CancelRequest {
  id: string;
  reason?: string;
}

export function brief(r: JobRecord): JobBrief {
  const at = (s: JobState) => r.history.find((h) => h.state === s)?.at;
  const last = r.history[r.history.length - 1];
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    priority: r.priority,
    seq: r.seq,
    submittedAt: r.history[0]?.at ?? '',
    ...(at('running') ? { startedAt: at('running') } : {}),
    ...(['succeeded', 'failed', 'cancelled'].includes(r.state) && last ? { endedAt: last.at } : {}),
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    ...(r.output === undefined ? {} : { output: r.output }),
  };
}
