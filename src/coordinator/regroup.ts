/**
 * The worker count of a job's sessions where the processes outlive them
 * (dtrain coordinator, service mode): after a lost worker the next session
 * takes the workers left and those waiting, down to cluster.minWorkers;
 * a worker that waits while a session runs below cluster.maxWorkers ends
 * that session at its next checkpoint (RegroupError), so the next takes it.
 */
import { RegroupError, WorkerLostError } from '../util/errors.js';
import type { ClusterSpec, JobSpec } from '../spec/job-spec.js';
import { attemptOptions, type Attempt } from './recovery.js';
import type { Session, SessionOptions } from './session.js';

export class Regrouping {
  private last: Session | undefined;
  private readonly cap: number;

  constructor(private readonly cluster: ClusterSpec) {
    this.cap = cluster.maxWorkers ?? cluster.workers;
  }

  /** Whether a session has run before (the next binds where it did). */
  get again(): boolean {
    return this.last !== undefined;
  }

  /**
   * The options of a session of `job` (as given) whose processes outlive
   * it: the attempt's, its members told to join again when another session
   * follows, and, after the first, a bind that waits for the endpoint the
   * last one just closed.
   */
  sessionOptions(a: Attempt, job: JobSpec): Pick<SessionOptions, 'spec' | 'resume' | 'summaryExtras' | 'goesOn' | 'onSummary' | 'recorded' | 'rejoin' | 'bindRetryMs'> {
    return { ...attemptOptions(a), recorded: job, rejoin: true, ...(this.again ? { bindRetryMs: REBIND_MS } : {}) };
  }

  /** Called as each session binds, with its worker count. */
  watch(s: Session, size: number): void {
    this.last = s;
    s.membership.onSpare = (role) => {
      if (role === 'worker' && size < this.cap) s.regroup(new RegroupError(`a worker waits to join (${size} of at most ${this.cap} running)`));
    };
  }

  /** The next session's workers, after one with `current` that ended with `err` (runRecovering's NextWorkers). */
  next = (err: unknown, current: number): number => {
    const m = this.last?.membership;
    if (!m) return current;
    const lost = err instanceof WorkerLostError && m.lost?.role === 'worker' ? 1 : 0;
    const available = m.workers.length - lost + m.sparesOf('worker');
    return Math.max(this.cluster.minWorkers, Math.min(this.cap, available));
  };
}

/** A session after another binds the endpoint the last one just closed: ZeroMQ frees it a moment later. */
const REBIND_MS = 10_000;
