/** Every error class is a DtrainError with its own `code` and its class name as `name`: programs decide by code, never by message text. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/util/errors.js';
import * as client from '../src/client/index.js';
import * as jobStates from '../src/service/job-states.js';
import * as apiServer from '../src/service/api-server.js';
import * as transport from '../src/wire/transport.js';
import * as shard from '../src/ps/shard.js';
import { failureOf, INTERNAL } from '../src/service/protocol.js';

const {
  DtrainError,
  JobSpecError,
  UsageError,
  DataError,
  WorkerLostError,
  WorkerFailedError,
  JoinTimeoutError,
  RegroupError,
  CheckpointError,
  ReplicaMismatchError,
  ProtocolError,
  JobCancelledError,
  BackendError,
  ServiceError,
  NotFoundError,
} = errors;
const { JobStateError, JobConflictError, JobExistsError, RunningElsewhereError } = jobStates;
const { BadRequestError } = apiServer;
const { ClosedError } = transport;
const { RoundError } = shard;
const { ApiError, JobRefusedError } = client;

/** One of each class whose code is its own (a constant of the class). */
const fixed: [string, errors.DtrainError][] = [
  ['DtrainError', new DtrainError('m')],
  ['JobSpecError', new JobSpecError('job.yaml', [{ path: 'train.lr', message: 'expected number' }])],
  ['UsageError', new UsageError('m')],
  ['DataError', new DataError('m')],
  ['WorkerLostError', new WorkerLostError('worker #1', 'gone')],
  ['WorkerFailedError', new WorkerFailedError('worker #1', 'bad data')],
  ['JoinTimeoutError', new JoinTimeoutError('only 1 of 2 worker(s) joined')],
  ['RegroupError', new RegroupError('a worker waits to join')],
  ['CheckpointError', new CheckpointError('no checkpoint reads back')],
  ['ReplicaMismatchError', new ReplicaMismatchError('the replicas disagree')],
  ['ProtocolError', new ProtocolError('m')],
  ['JobCancelledError', new JobCancelledError('m')],
  ['BackendError', new BackendError('m')],
  ['ServiceError', new ServiceError('m')],
  ['NotFoundError', new NotFoundError('no job x')],
  ['JobStateError', new JobStateError('j', 'succeeded', 'running')],
  ['JobConflictError', new JobConflictError('j', 'queued', 'running')],
  ['JobExistsError', new JobExistsError('j', '2026-01-01T00:00:00.000Z')],
  ['RunningElsewhereError', new RunningElsewhereError('j')],
  ['BadRequestError', new BadRequestError('m')],
  ['ClosedError', new ClosedError()],
  ['RoundError', new RoundError('m')],
];
/** Classes whose code is the failure reply's they stand for (the client's errors). */
const fromReply: [string, errors.DtrainError][] = [
  ['ApiError', new ApiError('JOB_STATE', 'job j is cancelled already')],
  ['JobRefusedError', new JobRefusedError('invalid job j: train.lr: expected number', [{ key: 'train.lr', message: 'expected number' }])],
];

/** The error classes a module exports. */
function errorClasses(mod: Record<string, unknown>): [string, unknown][] {
  return Object.entries(mod).filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error);
}

describe('error classes', () => {
  it('every exported error class is a DtrainError, and each is checked below', () => {
    const exported = [errors, client, jobStates, apiServer, transport, shard].flatMap((m) => errorClasses(m as Record<string, unknown>));
    const checked = new Set([...fixed, ...fromReply].map(([name]) => name));
    for (const [name, cls] of exported) {
      expect(cls === DtrainError || (cls as { prototype: unknown }).prototype instanceof DtrainError, `${name} extends DtrainError`).toBe(true);
      expect(checked, `${name} has a case in this test`).toContain(name);
    }
    expect(new Set(exported.map(([name]) => name))).toEqual(checked);
  });

  it('no class in src/ extends Error but DtrainError', () => {
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const plain = files.flatMap((f) => [...readFileSync(join(src, f), 'utf8').matchAll(/class\s+(\w+)\s+extends\s+Error\b/g)].map((m) => `${f}: ${m[1]}`));
    expect(plain).toEqual(['util/errors.ts: DtrainError']);
  });

  it.each(fixed)('%s: a DtrainError named after its class, with a code of its own', (name, err) => {
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(DtrainError);
    expect(err.name).toBe(name);
    expect(err.constructor.name).toBe(name);
    expect(typeof err.code).toBe('string');
    expect(err.code).toMatch(/^[A-Z][A-Z_]*$/);
    expect(err.message).not.toBe('');
  });

  it('the codes of the classes are distinct', () => {
    const codes = fixed.map(([, e]) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).not.toContain(INTERNAL); // kept for failures no class names
  });

  it('the client errors carry the code of the failure reply they stand for', () => {
    for (const [name, err] of fromReply) {
      expect(err).toBeInstanceOf(DtrainError);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.name).toBe(name);
    }
    const api = ApiError.of({ ok: false, error: 'no job x', code: 'NOT_FOUND' });
    expect(api).toMatchObject({ code: 'NOT_FOUND', message: 'no job x', issues: [], exitCode: 1 });
    expect(ApiError.of({ ok: false, error: 'from an older coordinator' } as never).code).toBe(INTERNAL);
    const refused = new JobRefusedError('a job with id j exists already; choose another id', [{ key: 'id', message: 'is taken' }], 'JOB_EXISTS');
    expect(refused).toMatchObject({ code: 'JOB_EXISTS', exitCode: 2, issues: [{ key: 'id', message: 'is taken' }] });
    expect(new JobRefusedError('invalid job', []).code).toBe('JOB_SPEC'); // as the coordinator answers a bad job
  });

  it("a failure reply carries the thrown error's code, INTERNAL for an error of no class of ours", () => {
    expect(failureOf(new NotFoundError('no job x'))).toEqual({ ok: false, error: 'no job x', code: 'NOT_FOUND' });
    expect(failureOf(new JobStateError('x', 'cancelled', 'cancelled', 'job x is cancelled already'))).toEqual({ ok: false, error: 'job x is cancelled already', code: 'JOB_STATE' });
    expect(failureOf(new TypeError('boom'))).toEqual({ ok: false, error: 'boom', code: INTERNAL });
    expect(failureOf('a string')).toEqual({ ok: false, error: 'a string', code: INTERNAL });
    const issues = [{ key: 'id', message: 'is taken' }];
    expect(failureOf(new JobExistsError('x'), issues)).toEqual({ ok: false, error: 'a job with id x exists already; choose another id', code: 'JOB_EXISTS', issues });
  });

  it('errors keep their fields and causes', () => {
    const cause = new Error('kv');
    expect(new JobConflictError('j', 'queued', 'running', { cause })).toMatchObject({ id: 'j', from: 'queued', to: 'running', cause });
    expect(new JobStateError('j', 'failed', 'running')).toMatchObject({ message: 'job j is failed: it cannot become running', exitCode: 1 });
    expect(new JobExistsError('j', 't0', { cause })).toMatchObject({ submittedAt: 't0', cause });
  });
});
