/** What a person gets from service-mode commands given bad flags, no NATS, or NATS without JetStream. */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, DtrainClient, JobRefusedError } from '../src/client/index.js';
import { JobStore } from '../src/service/job-store.js';
import type { Failure } from '../src/service/protocol.js';
import { JobService } from '../src/service/service.js';
import { API } from '../src/service/subjects.js';
import { NotFoundError } from '../src/util/errors.js';
import { makeLogger } from '../src/util/log.js';
import { freePort, killStarted, runCli, tempDir } from './helpers/cli.js';
import { hasNatsServer, startNatsServer } from './helpers/nats-server.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

describe('service-mode command errors', () => {
  it('coordinator: service mode needs --state-dir and a fixed port, and takes no job file', async () => {
    const url = 'nats://127.0.0.1:1';
    const noState = await runCli(['coordinator', '--nats', url, '--bind', 'tcp://127.0.0.1:5999']);
    expect(noState.code).toBe(2);
    expect(noState.stderr).toContain('service mode needs --state-dir DIR');
    const anyPort = await runCli(['coordinator', '--nats', url, '--bind', 'tcp://127.0.0.1:*', '--state-dir', tmp.dir]);
    expect(anyPort.code).toBe(2);
    expect(anyPort.stderr).toContain('service mode needs a fixed --bind port');
    const withJob = await runCli(['coordinator', 'configs/synthetic-blobs-mlp.yaml', '--nats', url, '--bind', 'tcp://127.0.0.1:5999', '--state-dir', tmp.dir]);
    expect(withJob.code).toBe(2);
    expect(withJob.stderr).toContain('submit job files with dtrain submit');
    const neither = await runCli(['coordinator', '--bind', 'tcp://127.0.0.1:5999']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give a job file, --resume DIR to continue a run, or --nats URL --state-dir DIR');
    const stray = await runCli(['coordinator', 'configs/synthetic-blobs-mlp.yaml', '--bind', 'tcp://127.0.0.1:5999', '--state-dir', tmp.dir]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--state-dir belongs to service mode');
  });

  it('client commands: a bad address, no server there, a bad job id, a bad priority', async () => {
    const bad = await runCli(['jobs', '--nats', 'http://127.0.0.1:4222']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--nats must look like nats://HOST:PORT');
    const port = await freePort();
    const none = await runCli(['submit', 'configs/synthetic-blobs-mlp.yaml', '--nats', `nats://127.0.0.1:${port}`]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`cannot reach NATS at nats://127.0.0.1:${port}`);
    expect(none.stderr).toContain('is nats-server running?');
    const id = await runCli(['status', 'a.b', '--nats', `nats://127.0.0.1:${port}`]);
    expect(id.code).toBe(2);
    expect(id.stderr).toContain('"a.b" is not a job id');
    const creds = await runCli(['jobs', '--creds', '/nonexistent/user.creds']);
    expect(creds.code).toBe(2);
    expect(creds.stderr).toContain('cannot read --creds /nonexistent/user.creds: ENOENT');
    const both = await runCli(['jobs', '--creds', '/nonexistent/user.creds', '--token', 't']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give one of --token, --creds or --user, not several');
    const prio = await runCli(['submit', 'configs/synthetic-blobs-mlp.yaml', '--priority', '5000']);
    expect(prio.code).toBe(2);
    expect(prio.stderr).toContain('--priority must be a whole number from -1000 to 1000');
  });

  it.skipIf(!hasNatsServer)('a NATS server without JetStream is named as the problem', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      const r = await runCli(['submit', 'configs/synthetic-blobs-mlp.yaml', '--nats', server.url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`JetStream does not answer on ${server.url}`);
      expect(r.stderr).toContain('start nats-server with -js');
    } finally {
      await server.stop();
    }
  });

  it.skipIf(!hasNatsServer)('a token-protected NATS: a wrong token is refused by name, the right one gets in', async () => {
    const server = await startNatsServer({ token: 's3cret' });
    try {
      const wrong = await runCli(['jobs', '--nats', server.url, '--token', 'nope']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain(`NATS at ${server.url} refused the credentials`);
      const none = await runCli(['jobs', '--nats', server.url]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('refused the credentials');
      // No coordinator runs: jobs reads the (empty) job store.
      const right = await runCli(['jobs', '--nats', server.url, '--token', 's3cret']);
      expect(right.stderr).toBe('');
      expect(right.code).toBe(0);
      expect(right.stdout).toBe('no jobs\n');
    } finally {
      await server.stop();
    }
  });

  it.skipIf(!hasNatsServer)('a coordinator that does not answer: status and list read the job store after the request timeout', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    const client = await DtrainClient.fromConnection(nc, { requestTimeoutMs: 300 });
    try {
      // A stuck coordinator: it holds the API subjects and never answers.
      nc.subscribe(API.list, { callback: () => undefined });
      nc.subscribe(API.status, { callback: () => undefined });
      const store = await JobStore.open(nc);
      await store.add({ id: 'kept', name: 'kept', priority: 0, seq: 1, spec: {} });
      expect((await client.list()).map((j) => [j.id, j.state])).toEqual([['kept', 'queued']]);
      expect(await client.status('kept')).toMatchObject({ id: 'kept', state: 'queued' });
      await expect(client.cancel('kept')).rejects.toThrow(/no coordinator answers dtrain.api.cancel/);
      await expect(client.cancel('kept')).rejects.toMatchObject({ code: 'SERVICE' });
      // Read from the store, an unknown id is NOT_FOUND too.
      await expect(client.status('nope')).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await client.close();
      await nc.close();
      await server.stop();
    }
  });

  it.skipIf(!hasNatsServer)('every failure reply carries a code, and the client throws it: NOT_FOUND, JOB_STATE, JOB_SPEC, JOB_EXISTS, BAD_REQUEST', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    const client = await DtrainClient.fromConnection(nc);
    let service: JobService | undefined;
    const ask = async (subject: string, body: unknown) => (await nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 10_000 })).json<Failure>();
    try {
      // A job that has ended, recorded before the coordinator starts (it runs no job in this test).
      const store = await JobStore.open(nc);
      await store.add({ id: 'ended', name: 'ended', priority: 0, seq: 1, spec: {} });
      await store.move('ended', 'cancelled', { reason: 'by the test' });
      service = await JobService.start(nc, await jetstreamManager(nc), { bind: 'tcp://127.0.0.1:1', stateDir: tmp.dir, terminal: false, submitted: { dataRoots: [] }, log: makeLogger({}), say: () => undefined });

      // An unknown id: NOT_FOUND, on the wire and from the client (status answers NotFoundError, cancel an ApiError).
      expect(await ask(API.status, { id: 'nope' })).toEqual({ ok: false, error: 'no job nope', code: 'NOT_FOUND' });
      expect(await ask(API.cancel, { id: 'nope' })).toEqual({ ok: false, error: 'no job nope', code: 'NOT_FOUND' });
      const status = await client.status('nope').catch((e: unknown) => e);
      expect(status).toBeInstanceOf(NotFoundError);
      expect(status).toMatchObject({ code: 'NOT_FOUND', message: 'no job nope' });
      const cancelNone = await client.cancel('nope').catch((e: unknown) => e);
      expect(cancelNone).toBeInstanceOf(ApiError);
      expect(cancelNone).toMatchObject({ code: 'NOT_FOUND', message: 'no job nope' });

      // A cancel of a job that has ended: JOB_STATE.
      expect(await ask(API.cancel, { id: 'ended' })).toEqual({ ok: false, error: 'job ended is cancelled already', code: 'JOB_STATE' });
      await expect(client.cancel('ended')).rejects.toMatchObject({ name: 'ApiError', code: 'JOB_STATE', message: 'job ended is cancelled already' });

      // Malformed requests: BAD_REQUEST.
      expect(await ask(API.status, '{oops')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
      expect(await ask(API.status, {})).toEqual({ ok: false, error: 'the request needs "id"', code: 'BAD_REQUEST' });
      expect(await ask(API.list, { state: 'sleeping' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
      // A cancel's reason goes into the record and the event: a text, or nothing (null and objects were recorded as given).
      expect(await ask(API.cancel, { id: 'any', reason: null })).toEqual({ ok: false, error: '"reason" must be a text of at most 1000 characters', code: 'BAD_REQUEST' });
      expect(await ask(API.cancel, { id: 'any', reason: { a: 1 } })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });

      // A refused submission: JOB_SPEC with the issues, through dtrain.api.submit and through the client.
      const bad = { name: 'bad', type: 'supervised', data: { source: 'synthetic', kind: 'blobs', samples: 64, features: 2, classes: 2 }, model: { zoo: 'mlp', hidden: [4] }, train: { epochs: 'three' } };
      const reply = await ask(API.submit, { id: 'bad1', job: bad });
      expect(reply).toMatchObject({ ok: false, code: 'JOB_SPEC', issues: [{ key: 'train.epochs' }] });
      expect(reply.error).toMatch(/^invalid job bad1: /);
      const refused = await client.submit(bad, { id: 'bad2' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(JobRefusedError);
      expect(refused).toMatchObject({ code: 'JOB_SPEC', exitCode: 2, issues: [{ key: 'train.epochs' }] });
      // A taken id: JOB_EXISTS, naming the id.
      const good = { ...bad, train: { epochs: 1, batchSize: 16 } }; // valid: refused for its id alone
      const taken = await client.submit(good, { id: 'ended' }).catch((e: unknown) => e);
      expect(taken).toBeInstanceOf(JobRefusedError);
      expect(taken).toMatchObject({ code: 'JOB_EXISTS', issues: [{ key: 'id', message: 'is taken' }] });
      expect((taken as Error).message).toMatch(/^a job with id ended exists already \(submitted .+\); choose another id$/);
      expect((await client.list()).map((j) => j.id)).toEqual(['ended']);
    } finally {
      await service?.stop('test over');
      await client.close();
      await nc.close();
      await server.stop();
    }
  });
});
