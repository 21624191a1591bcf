/**
 * The NATS wire contract of service mode, docs/nats-api.md, against what the
 * code sends. Each JSON example of the document (a ```json block after
 * `<!-- example: NAME -->`) is compared with a real message of its kind:
 * the same keys at every depth, with the same JSON types (an array: the same
 * set of element shapes), and the same `ok`, `code` and `kind` values. The
 * real messages come from a real nats-server, a `dtrain coordinator --nats`
 * process and a `dtrain worker --serve` process, asked over a bare NATS
 * connection by the names the document gives, as a client in another
 * language would. The names themselves (subjects, stream, bucket, header)
 * and the error codes are checked against src/service/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../src/service/api-server.js';
import { OVER_LIMIT } from '../src/service/caps.js';
import { JobExistsError, JobStateError, RunningElsewhereError } from '../src/service/job-states.js';
import { JOBS_BUCKET } from '../src/service/job-store.js';
import { INTERNAL } from '../src/service/protocol.js';
import * as subjects from '../src/service/subjects.js';
import { JobSpecError, NotFoundError } from '../src/util/errors.js';
import { freePort, killStarted, startCli, stopProcess, tempDir, waitForOutput } from './helpers/cli.js';
import { hasNatsServer, startNatsServer, type NatsServer } from './helpers/nats-server.js';

const DOC_PATH = fileURLToPath(new URL('../docs/nats-api.md', import.meta.url));
const doc = readFileSync(DOC_PATH, 'utf8');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The document's examples by name; a name given twice, or a block that is not JSON, is an error. */
function examplesOf(md: string): Map<string, Json> {
  const found = new Map<string, Json>();
  for (const m of md.matchAll(/<!--\s*example:\s*([\w-]+)\s*-->\s*```json\n([\s\S]*?)```/g)) {
    if (found.has(m[1])) throw new Error(`example ${m[1]} is given twice`);
    try {
      found.set(m[1], JSON.parse(m[2]) as Json);
    } catch (err) {
      throw new Error(`example ${m[1]} is not JSON: ${(err as Error).message}`);
    }
  }
  return found;
}
const examples = examplesOf(doc);
const example = (name: string): Json => {
  const e = examples.get(name);
  if (e === undefined) throw new Error(`docs/nats-api.md has no example ${name}`);
  return structuredClone(e);
};

/** Objects under these keys are free-form (the job spec: `dtrain schema job`; summary.json's content): only their type is compared. */
const OPAQUE = new Set(['spec', 'summary']);
/** Keys whose values, not only types, must be the documented ones: they say which kind of message it is. */
const DISCRIMINATORS = new Set(['ok', 'code', 'kind']);

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** A value's shape as a string: its type, an object's keys with their shapes, an array's distinct element shapes. */
function shapeOf(v: Json, key = ''): string {
  if (OPAQUE.has(key) && typeOf(v) === 'object') return 'object';
  if (Array.isArray(v)) return `[${[...new Set(v.map((e) => shapeOf(e)))].sort().join('|')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${k}${DISCRIMINATORS.has(k) ? `=${JSON.stringify(v[k])}` : ''}:${shapeOf(v[k], k)}`)
      .join(',')}}`;
  }
  return typeOf(v);
}

/** How `sent` differs from the documented example `documented` (none: it matches). */
function differences(documented: Json, sent: Json, path = '$', key = ''): string[] {
  const [d, s] = [typeOf(documented), typeOf(sent)];
  if (d !== s) return [`${path}: documented ${d}, sent ${s}`];
  if (OPAQUE.has(key) && d === 'object') return [];
  if (Array.isArray(documented) && Array.isArray(sent)) {
    const documentedShapes = new Set(documented.map((e) => shapeOf(e)));
    const sentShapes = new Set(sent.map((e) => shapeOf(e)));
    const out: string[] = [];
    for (const x of sentShapes) if (!documentedShapes.has(x)) out.push(`${path}[]: sent an element ${x}, not documented`);
    for (const x of documentedShapes) if (!sentShapes.has(x)) out.push(`${path}[]: documented an element ${x}, none sent`);
    return out;
  }
  if (d !== 'object') return [];
  const [dObj, sObj] = [documented as Record<string, Json>, sent as Record<string, Json>];
  const out: string[] = [];
  for (const k of Object.keys(dObj)) if (!(k in sObj)) out.push(`${path}.${k}: documented, not sent`);
  for (const k of Object.keys(sObj)) if (!(k in dObj)) out.push(`${path}.${k}: sent, not documented`);
  for (const k of Object.keys(dObj)) {
    if (!(k in sObj)) continue;
    if (DISCRIMINATORS.has(k) && JSON.stringify(dObj[k]) !== JSON.stringify(sObj[k])) out.push(`${path}.${k}: documented ${JSON.stringify(dObj[k])}, sent ${JSON.stringify(sObj[k])}`);
    out.push(...differences(dObj[k], sObj[k], `${path}.${k}`, k));
  }
  return out;
}

/** Asserts that a real message matches the named example. */
function expectDocumented(name: string, sent: unknown): void {
  expect(differences(example(name), sent as Json), `${name}: ${JSON.stringify(sent)}`).toEqual([]);
}

/** Every path to a key of `v` (outside the opaque objects), as lists of keys and indices. */
function keyPaths(v: Json, key = '', at: (string | number)[] = []): (string | number)[][] {
  if (OPAQUE.has(key)) return [];
  if (Array.isArray(v)) return v.flatMap((e, i) => keyPaths(e, '', [...at, i]));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, e]) => [[...at, k], ...keyPaths(e, k, [...at, k])]);
}

function withoutKey(v: Json, path: (string | number)[]): Json {
  const copy = structuredClone(v);
  let parent = copy as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, Json>;
  delete parent[path[path.length - 1]];
  return copy;
}

/** The names of the code: every exported string of src/service/subjects.ts (subjects of a job with `<id>`), and the KV bucket. */
function codeNames(): Set<string> {
  const names = new Set<string>([JOBS_BUCKET]);
  for (const v of Object.values(subjects)) {
    if (typeof v === 'string') names.add(v);
    else if (typeof v === 'function') names.add((v as (id: string) => string)('<id>'));
    else if (v && typeof v === 'object' && !(v instanceof RegExp)) for (const s of Object.values(v)) names.add(String(s));
  }
  return names;
}

/** The names the document gives in backquotes: dtrain.…, dtrain-…, DTRAIN_…, Dtrain-…; a wildcard token (`*`) stands for `<id>`. */
function docNames(md: string): Set<string> {
  const names = new Set<string>();
  for (const m of md.matchAll(/`((?:dtrain[.-]|DTRAIN_|Dtrain-)[^`\s]*)`/g)) names.add(m[1].replace(/^dtrain\.jobs\.\*\./, 'dtrain.jobs.<id>.'));
  return names;
}

/** The codes of the document's "Error codes" table. */
function docCodes(md: string): string[] {
  const section = /^## Error codes\n([\s\S]*?)(?=^## )/m.exec(md)?.[1] ?? '';
  return [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
}

describe('docs/nats-api.md', () => {
  it('names every subject, stream, consumer, queue group, header and bucket of src/service, and no other', () => {
    expect([...docNames(doc)].sort()).toEqual([...codeNames()].sort());
    expect(doc).toContain(`\`${subjects.JOB_ID.source}\``);
  });

  it('lists every error code a reply can carry, each once', () => {
    const codes = [
      new JobSpecError('job', []).code,
      OVER_LIMIT,
      new JobExistsError('x').code,
      new NotFoundError('').code,
      new JobStateError('x', 'succeeded', 'cancelled').code,
      new RunningElsewhereError('x').code,
      new BadRequestError('').code,
      INTERNAL,
    ];
    expect(docCodes(doc).sort()).toEqual([...codes].sort());
  });

  it('the comparison can fail: each example matches itself, and not with any one key removed, a type changed, or a key added', () => {
    expect(examples.size).toBeGreaterThanOrEqual(20);
    let removals = 0;
    for (const [name, e] of examples) {
      expect(differences(e, structuredClone(e)), name).toEqual([]);
      for (const path of keyPaths(e)) {
        removals++;
        expect(differences(e, withoutKey(e, path)).length, `${name} without ${path.join('.')}`).toBeGreaterThan(0);
      }
    }
    expect(removals).toBeGreaterThan(100);
    const running = example('status-reply-running') as { job: { progress: Record<string, Json> } };
    const changed = structuredClone(running);
    changed.job.progress.step = '17';
    expect(differences(running, changed)).toEqual(['$.job.progress.step: documented number, sent string']);
    const added = structuredClone(running) as Record<string, Json>;
    added.extra = 1;
    expect(differences(running, added)).toEqual(['$.extra: sent, not documented']);
    const otherCode = { ...(example('status-reply-not-found') as Record<string, Json>), code: 'JOB_STATE' };
    expect(differences(example('status-reply-not-found'), otherCode)).toEqual(['$.code: documented "NOT_FOUND", sent "JOB_STATE"']);
    // The free-form objects are compared by type only.
    const spec = example('kv-record') as Record<string, Json>;
    expect(differences(spec, { ...spec, spec: { anything: [1] } })).toEqual([]);
    expect(differences(spec, { ...spec, spec: 'text' })).toEqual(['$.spec: documented object, sent string']);
  });
});

describe.skipIf(!hasNatsServer)('docs/nats-api.md against a running coordinator', () => {
  const tmp = tempDir('dtrain-contract-');
  let nats: NatsServer | undefined;
  let coordinator: ReturnType<typeof startCli> | undefined;
  let worker: ReturnType<typeof startCli> | undefined;
  let nc: NatsConnection | undefined;
  const events: { subject: string; body: Json }[] = [];
  const progress: { subject: string; body: Json }[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    coordinator = startCli(['coordinator', '--nats', nats.url, '--bind', endpoint, '--state-dir', join(tmp.dir, 'state'), '--no-progress']);
    worker = startCli(['worker', '--connect', endpoint, '--serve', '--log-file', join(tmp.dir, 'worker.jsonl')]);
    await waitForOutput(coordinator.child, /workers join with/);
    nc = await connect({ servers: nats.url, name: 'contract test' });
    const collect = (into: typeof events) => (err: Error | null, m: Msg) => {
      if (!err) into.push({ subject: m.subject, body: m.json<Json>() });
    };
    nc.subscribe('dtrain.jobs.*.events', { callback: collect(events) });
    nc.subscribe('dtrain.jobs.*.progress', { callback: collect(progress) });
    await nc.flush();
  });

  afterAll(async () => {
    await nc?.close();
    await Promise.all([worker && stopProcess(worker.child), coordinator && stopProcess(coordinator.child)]);
    await nats?.stop();
    killStarted();
    tmp.cleanup();
  });

  const ask = async (subject: string, body: unknown, timeout = 30_000): Promise<Json> => (await nc!.request(subject, JSON.stringify(body), { timeout })).json<Json>();
  const eventsOf = (id: string) => events.filter((e) => e.subject === `dtrain.jobs.${id}.events`).map((e) => e.body as Record<string, Json>);
  const progressOf = (id: string) => progress.filter((e) => e.subject === `dtrain.jobs.${id}.progress`).map((e) => e.body as Record<string, Json>);

  it('every reply, event, progress message and job record has the documented keys and types', async () => {
    const t0 = Date.now();
    const request = example('submit-request') as { id: string; job: Record<string, Json> };
    const id = request.id;

    // A submission into the stream, answered on the inbox its Dtrain-Reply header names.
    const inbox = createInbox();
    const answer = nextMessage(nc!, inbox, 30_000);
    await nc!.flush();
    const h = headers();
    h.set('Dtrain-Reply', inbox);
    const ack = await jetstream(nc!).publish('dtrain.submit', JSON.stringify(request), { headers: h });
    expect(ack.stream).toBe('DTRAIN_SUBMISSIONS');
    const accepted = await answer;
    expectDocumented('submit-reply-ok', accepted);
    expect(accepted).toMatchObject({ ok: true, job: { id, state: 'queued', seq: ack.seq } });
    await waitUntil(() => eventsOf(id).some((e) => e.to === 'succeeded'), 90_000, `${id} to succeed`);

    // The same id again: JOB_EXISTS. A bad job: JOB_SPEC. Over a cap: OVER_LIMIT. All through dtrain.api.submit.
    expectDocumented('submit-reply-exists', await ask('dtrain.api.submit', request));
    const invalid = example('submit-request-invalid');
    expectDocumented('submit-reply-invalid', await ask('dtrain.api.submit', invalid));
    const crowd = { ...request, id: 'contract-crowd', job: { ...request.job, train: { maxSteps: 12, batchSize: 256 }, cluster: { workers: 100, backend: 'cpu' } } };
    expectDocumented('submit-reply-over-limit', await ask('dtrain.api.submit', crowd));

    // A finished job: status, list, its record in the bucket; a cancel of it is JOB_STATE.
    const status = example('status-request') as { id: string };
    expectDocumented('status-reply-ended', await ask('dtrain.api.status', { ...status, id }));
    expectDocumented('list-reply', await ask('dtrain.api.list', example('list-request')));
    const kv = await new Kvm(nc!).open('dtrain-jobs');
    const entry = await kv.get(id);
    expect(entry?.operation).toBe('PUT');
    expectDocumented('kv-record', entry!.json<Json>());
    const cancel = example('cancel-request') as { id: string; reason: string };
    expectDocumented('cancel-reply-job-state', await ask('dtrain.api.cancel', { ...cancel, id }));

    // Malformed requests and an unknown id.
    expectDocumented('status-reply-not-found', await ask('dtrain.api.status', { id: 'no-such-job' }));
    expectDocumented('reply-bad-request', await ask('dtrain.api.status', {}));

    // A long job through dtrain.api.submit: its status while it trains, then a cancel.
    const longId = 'contract-long';
    const long = { ...request, id: longId, job: { ...request.job, name: 'blobs-long', train: { maxSteps: 1_000_000, epochs: 100_000, batchSize: 32 } } };
    const submitted = await ask('dtrain.api.submit', long);
    expectDocumented('submit-reply-ok', submitted);
    let running: Record<string, Json> | undefined;
    await waitUntil(
      async () => {
        const r = (await ask('dtrain.api.status', { id: longId })) as { job?: Record<string, Json> };
        const p = r.job?.progress as Record<string, Json> | undefined;
        if (r.job?.state === 'running' && p?.kind === 'step' && r.job.note !== undefined) running = r as Record<string, Json>;
        return running !== undefined;
      },
      90_000,
      `${longId} to report a training step`,
    );
    expectDocumented('status-reply-running', running);
    const cancelled = await ask('dtrain.api.cancel', { ...cancel, id: longId }, 60_000);
    expectDocumented('cancel-reply', cancelled);
    expect(cancelled).toMatchObject({ ok: true, job: { id: longId, state: 'cancelled', reason: cancel.reason } });
    const listed = (await ask('dtrain.api.list', {})) as { jobs: Json[] };
    const briefs = [(example('list-reply') as { jobs: Json[] }).jobs[0], (example('cancel-reply') as { job: Json }).job];
    for (const b of listed.jobs) expect(briefs.some((d) => differences(d, b).length === 0), JSON.stringify(b)).toBe(true);
    expect(listed.jobs.map((j) => (j as { id: string }).id)).toEqual([id, longId]);

    // Events: the first (from null), plain moves, a move with a reason.
    await waitUntil(() => eventsOf(longId).some((e) => e.to === 'cancelled'), 30_000, `the event of ${longId}'s cancel`);
    for (const jobId of [id, longId]) {
      const seen = eventsOf(jobId);
      expect(seen.map((e) => e.to)).toEqual(jobId === id ? ['queued', 'running', 'succeeded'] : ['queued', 'running', 'cancelled']);
      for (const e of seen) expectDocumented(e.from === null ? 'event-queued' : e.to === 'cancelled' ? 'event-with-reason' : 'event', e);
    }

    // Progress: every message of the finished job, each kind at least once.
    const kinds = new Map([['step', 'progress-step'], ['count', 'progress-count'], ['note', 'progress-note']]);
    const sent = progressOf(id);
    expect([...new Set(sent.map((p) => p.kind))].sort()).toEqual([...kinds.keys()].sort());
    for (const p of sent) expectDocumented(kinds.get(String(p.kind)) ?? `progress of kind ${String(p.kind)}`, p);
    for (const p of progressOf(longId)) expectDocumented(kinds.get(String(p.kind)) ?? `progress of kind ${String(p.kind)}`, p);

    // Core NATS and JetStream: only the submissions and the bucket are streams, as the document says.
    const jsm = await jetstreamManager(nc!);
    const streams = new Map<string, string[]>();
    for await (const si of jsm.streams.list()) streams.set(si.config.name, si.config.subjects ?? []);
    expect(Object.fromEntries(streams)).toEqual({ DTRAIN_SUBMISSIONS: ['dtrain.submit'], 'KV_dtrain-jobs': ['$KV.dtrain-jobs.>'] });
    const stream = await jsm.streams.info('DTRAIN_SUBMISSIONS');
    expect([stream.config.retention, stream.config.storage]).toEqual(['workqueue', 'file']);
    const consumer = await jsm.consumers.info('DTRAIN_SUBMISSIONS', 'dtrain-coordinator');
    expect([consumer.config.ack_policy, consumer.config.ack_wait]).toEqual(['explicit', 60_000_000_000]);
    expect((await kv.status()).history).toBe(1);
    console.log(`nats contract: ${events.length} events, ${progress.length} progress messages checked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

/** The next message on `subject`, as JSON; rejects after `ms`. Subscribed before it returns (flush before publishing). */
function nextMessage(nc: NatsConnection, subject: string, ms: number): Promise<Json> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`nothing on ${subject} in ${ms} ms`));
    }, ms);
    const sub = nc.subscribe(subject, {
      max: 1,
      callback: (err, m) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(m.json<Json>());
      },
    });
  });
}

async function waitUntil(ok: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
