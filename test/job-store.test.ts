/** Service mode's job records in a NATS KV bucket, on a real nats-server with JetStream. */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMove, isFinal, JOB_STATES, JobConflictError, JobExistsError, JobStateError, moved, type JobRecord } from '../src/service/job-states.js';
import { NotFoundError } from '../src/util/errors.js';
import { JobStore, type JobEvent } from '../src/service/job-store.js';
import { eventsSubject } from '../src/service/subjects.js';
import { hasNatsServer, startNatsServer, type NatsServer } from './helpers/nats-server.js';

describe('job state machine', () => {
  it('queued → running → succeeded | failed | cancelled; queued may be cancelled or failed; running may go back to queued (to resume); final states stay', () => {
    const allowed = JOB_STATES.flatMap((from) => JOB_STATES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`));
    expect(allowed.sort()).toEqual(['queued→cancelled', 'queued→failed', 'queued→running', 'running→cancelled', 'running→failed', 'running→queued', 'running→succeeded']);
    expect(JOB_STATES.filter(isFinal)).toEqual(['succeeded', 'failed', 'cancelled']);
  });

  it('records each move with its time and reason, and refuses a move the machine does not allow', () => {
    const r: JobRecord = { id: 'j1', name: 'n', state: 'queued', priority: 0, seq: 1, spec: {}, history: [{ state: 'queued', at: '2026-01-01T00:00:00.000Z' }] };
    const running = moved(r, 'running', new Date('2026-01-01T00:00:01Z'));
    const failed = moved(running, 'failed', new Date('2026-01-01T00:00:02Z'), { reason: 'worker #1 lost' });
    expect(failed).toMatchObject({ state: 'failed', reason: 'worker #1 lost' });
    expect(failed.history.map((h) => h.state)).toEqual(['queued', 'running', 'failed']);
    expect(failed.history[2]).toEqual({ state: 'failed', at: '2026-01-01T00:00:02.000Z', reason: 'worker #1 lost' });
    expect(() => moved(failed, 'running', new Date())).toThrow(JobStateError);
    expect(() => moved(r, 'succeeded', new Date())).toThrow(/job j1 is queued: it cannot become succeeded/);
  });
});

describe.skipIf(!hasNatsServer)('job store on nats-server', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  const add = (store: JobStore, id: string, seq: number) => store.add({ id, name: `job-${id}`, priority: 0, seq, spec: { name: `job-${id}` } });

  it('adds, moves and lists jobs in submission order, publishing every change on dtrain.jobs.<id>.events', async () => {
    const store = await JobStore.open(nc);
    const events: JobEvent[] = [];
    const sub = nc.subscribe('dtrain.jobs.*.events');
    void (async () => {
      for await (const m of sub) events.push(m.json<JobEvent>());
    })();
    await nc.flush();
    await add(store, 'b', 2);
    await add(store, 'a', 1);
    await store.move('a', 'running');
    const done = await store.move('a', 'succeeded', { summary: { status: 'succeeded', steps: 3 } });
    expect(done.summary).toEqual({ status: 'succeeded', steps: 3 });
    await store.move('b', 'cancelled', { reason: 'cancelled by request' });
    expect((await store.list()).map((r) => [r.id, r.state])).toEqual([['a', 'succeeded'], ['b', 'cancelled']]);
    expect(await store.get('a')).toMatchObject({ id: 'a', name: 'job-a', state: 'succeeded' });
    expect(await store.get('zzz')).toBeUndefined();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    expect(events.map((e) => `${e.id}:${e.from}→${e.to}`)).toEqual(['b:null→queued', 'a:null→queued', 'a:queued→running', 'a:running→succeeded', 'b:queued→cancelled']);
    expect(events[4].reason).toBe('cancelled by request');
    expect(eventsSubject('x')).toBe('dtrain.jobs.x.events');
  });

  it('refuses a second job with the same id, a move from a final state, and a move of an unknown job', async () => {
    const store = await JobStore.open(nc);
    await add(store, 'dup', 10);
    await expect(add(store, 'dup', 11)).rejects.toThrow();
    await expect(add(store, 'dup', 12)).rejects.toMatchObject({ name: 'JobExistsError', code: 'JOB_EXISTS', id: 'dup' });
    await expect(add(store, 'dup', 13)).rejects.toBeInstanceOf(JobExistsError);
    await store.move('dup', 'failed', { reason: 'bad' });
    await expect(store.move('dup', 'running')).rejects.toThrow(JobStateError);
    await expect(store.move('dup', 'running')).rejects.toMatchObject({ code: 'JOB_STATE', from: 'failed', to: 'running' });
    await expect(store.move('nope', 'running')).rejects.toThrow(/no job nope/);
    await expect(store.move('nope', 'running')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.move('nope', 'running')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('two writers moving the same job at once: one wins (compare-and-set on the revision), the history has one move', async () => {
    const store = await JobStore.open(nc);
    const nc2 = await connect({ servers: server.url });
    try {
      const other = await JobStore.open(nc2);
      await add(store, 'race', 20);
      const results = await Promise.allSettled([store.move('race', 'running'), other.move('race', 'running')]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      // The loser either read after the winner wrote (a move from running) or lost the compare-and-set.
      const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error;
      expect(lost instanceof JobConflictError || lost instanceof JobStateError).toBe(true);
      expect(['JOB_CONFLICT', 'JOB_STATE']).toContain((lost as JobConflictError | JobStateError).code);
      expect((await store.get('race'))?.history.map((h) => h.state)).toEqual(['queued', 'running']);
    } finally {
      await nc2.close();
    }
  });

  it('records survive a nats-server restart (file storage)', async () => {
    const store = await JobStore.open(nc);
    await add(store, 'durable', 30);
    await server.restart();
    const again = await connect({ servers: server.url });
    try {
      expect(await (await JobStore.open(again)).get('durable')).toMatchObject({ state: 'queued', seq: 30 });
    } finally {
      await again.close();
    }
  });
});
