/**
 * A service-mode job's life: queued → running → succeeded | failed |
 * cancelled. A queued job can also be cancelled, or failed (a coordinator
 * that cannot run it); the last three states are final. A running job whose
 * coordinator died goes back to queued when a coordinator starts again, and
 * resumes from its latest checkpoint. Every change is recorded with its
 * time and, for failed, cancelled and that return to queued, the reason.
 */
import { DtrainError } from '../util/errors.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

const NEXT: Record<JobState, readonly JobState[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled', 'queued'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function isFinal(s: JobState): boolean {
  return NEXT[s].length === 0;
}

export function canMove(from: JobState, to: JobState): boolean {
  return NEXT[from].includes(to);
}

export interface StateChange {
  state: JobState;
  /** ISO 8601 time of the change. */
  at: string;
  reason?: string;
}

/** What the job store keeps for each job (the value of its KV entry). */
export interface JobRecord {
  id: string;
  /** The job's name, from its spec. */
  name: string;
  state: JobState;
  /** Higher runs first; equal priorities run in submission order. */
  priority: number;
  /** Submission order: the work-queue stream's sequence number of the submission. */
  seq: number;
  /** The validated job spec. */
  spec: Record<string, unknown>;
  history: StateChange[];
  /** Final summary (summary.json's content) once the job has run. */
  summary?: Record<string, unknown>;
  reason?: string;
  /** Where the coordinator writes the job's outputs, set when it starts. */
  output?: string;
}

/** What a move may record besides the new state. */
export interface MoveDetails {
  reason?: string;
  summary?: Record<string, unknown>;
  output?: string;
}

/** The record after a move to `to`; throws if the state machine does not allow it. */
export function moved(r: JobRecord, to: JobState, at: Date, d: MoveDetails = {}): JobRecord {
  if (!canMove(r.state, to)) throw new JobStateError(r.id, r.state, to);
  const change: StateChange = { state: to, at: at.toISOString(), ...(d.reason === undefined ? {} : { reason: d.reason }) };
  const details = Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined));
  return { ...r, ...details, state: to, history: [...r.history, change] };
}

/** The state machine does not allow the move (a cancel of a job that has ended, a start of a cancelled one). */
export class JobStateError extends DtrainError {
  override readonly code = 'JOB_STATE';
  constructor(
    readonly id: string,
    readonly from: JobState,
    readonly to: JobState,
    message = `job ${id} is ${from}: it cannot become ${to}`,
  ) {
    super(message);
  }
}

/** Another writer changed the job between our read and our write (compare-and-set lost): read it again. */
export class JobConflictError extends DtrainError {
  override readonly code = 'JOB_CONFLICT';
  constructor(
    readonly id: string,
    readonly from: JobState,
    readonly to: JobState,
    options?: { cause?: unknown },
  ) {
    super(`job ${id} changed while it was being moved from ${from} to ${to}`, options);
  }
}

/** A job with this id is recorded already (a submission chose a taken id). `submittedAt` is the recorded job's, when known. */
export class JobExistsError extends DtrainError {
  override readonly code = 'JOB_EXISTS';
  constructor(
    readonly id: string,
    readonly submittedAt?: string,
    options?: { cause?: unknown },
  ) {
    super(`a job with id ${id} exists already${submittedAt ? ` (submitted ${submittedAt})` : ''}; choose another id`, options);
  }
}

/** The job runs, but on another coordinator: only that one can stop it (asking again may reach it). */
export class RunningElsewhereError extends DtrainError {
  override readonly code = 'RUNNING_ELSEWHERE';
  constructor(readonly id: string) {
    super(`job ${id} is running on another coordinator`);
  }
}
