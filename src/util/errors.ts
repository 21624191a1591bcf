/**
 * Error classes. Decide by `instanceof` or `code`, never by message text.
 * Each carries the exit code the CLI uses when it ends the process.
 */
export class DtrainError extends Error {
  readonly code: string = 'DTRAIN';
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A job file or command-line value is invalid. Nothing has been started. */
export class JobSpecError extends DtrainError {
  override readonly code = 'JOB_SPEC';
  override readonly exitCode = 2;
  constructor(
    readonly file: string,
    readonly issues: { path: string; message: string }[],
    options?: { cause?: unknown },
  ) {
    super(issues.map((i) => `${file}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'), options);
  }
}

/** Bad command-line usage (a flag's value, a missing argument). */
export class UsageError extends DtrainError {
  override readonly code = 'USAGE';
  override readonly exitCode = 2;
}

/** A data set could not be read. */
export class DataError extends DtrainError {
  override readonly code = 'DATA';
}

/** A worker or ps shard died, was killed or stopped answering heartbeats. `member` names it ("worker #1 (pid …)"). */
/** Workers that should hold the same parameters do not: nothing is saved from them. */
export class ReplicaMismatchError extends DtrainError {
  override readonly code = 'REPLICA_MISMATCH';
}

/** No checkpoint of a run reads back whole. */
export class CheckpointError extends DtrainError {
  override readonly code = 'CHECKPOINT';
}

/** Workers joined a job running with fewer than it may have: the session ends at a checkpoint and the job goes on with them. */
export class RegroupError extends DtrainError {
  override readonly code = 'REGROUP';
}

export class WorkerLostError extends DtrainError {
  override readonly code = 'WORKER_LOST';
  constructor(
    readonly member: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${member} lost: ${reason}`, options);
  }
}

/** The job's workers or ps shards did not all join within cluster.joinTimeoutMs. */
export class JoinTimeoutError extends DtrainError {
  override readonly code = 'JOIN_TIMEOUT';
}

/** A worker or ps shard reported a failure of its own (compute error, bad data). */
export class WorkerFailedError extends DtrainError {
  override readonly code = 'WORKER_FAILED';
  constructor(
    readonly member: string,
    reason: string,
  ) {
    super(`${member} failed: ${reason}`);
  }
}

/** A message broke the wire protocol. Dropped and counted, never thrown out of a socket loop. */
export class ProtocolError extends DtrainError {
  override readonly code = 'PROTOCOL';
}

/** The job was stopped by the user (Ctrl-C, cancel). */
export class JobCancelledError extends DtrainError {
  override readonly code = 'CANCELLED';
  override readonly exitCode = 130;
}

/** The requested compute backend is not installed or failed to start. */
export class BackendError extends DtrainError {
  override readonly code = 'BACKEND';
  override readonly exitCode = 2;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Service mode: NATS cannot be reached, refused us, or no coordinator answered. */
export class ServiceError extends DtrainError {
  override readonly code = 'SERVICE';
}

/** Service mode: no job has the id asked for ("no job <id>"). */
export class NotFoundError extends DtrainError {
  override readonly code = 'NOT_FOUND';
}
