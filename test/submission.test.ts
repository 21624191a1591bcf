/** Checking a service-mode submission before it is recorded (no server needed). */
import { describe, expect, it } from 'vitest';
import { brief } from '../src/service/protocol.js';
import { checkSubmission } from '../src/service/validate.js';
import { moved, type JobRecord } from '../src/service/job-states.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const job = {
  name: 'blobs',
  type: 'supervised',
  data: { source: 'synthetic', kind: 'blobs', samples: 256, features: 4, classes: 2 },
  model: { zoo: 'mlp', hidden: [8] },
};

describe('checkSubmission', () => {
  it('accepts a job, fills its defaults, and names a job without id after its stream sequence', () => {
    const c = checkSubmission(enc({ job }), 42);
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.id).toBe('job-42');
    expect(c.priority).toBe(0);
    expect(c.spec.cluster.workers).toBeGreaterThan(0);
    const named = checkSubmission(enc({ job, id: 'mine_1', priority: 7 }), 1);
    expect(named).toMatchObject({ ok: true, id: 'mine_1', priority: 7 });
  });

  it('names every bad key of the job', () => {
    const bad = { ...job, train: { epochs: 'three', optimizer: { name: 'adam', lr: 0.01, betaa: 3 } } };
    const c = checkSubmission(enc({ job: bad, id: 'b1' }), 3);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.issues.map((i) => i.key).sort()).toEqual(['train.epochs', 'train.optimizer.betaa']);
    expect(c.error).toMatch(/^invalid job b1: /);
    expect(c.error).toContain('train.epochs: expected number, got string');
  });

  it('refuses a malformed envelope: not JSON, no job, a bad id or priority, an unknown key', () => {
    const keys = (data: unknown) => {
      const c = checkSubmission(enc(data), 1);
      return c.ok ? [] : c.issues.map((i) => i.key);
    };
    expect(keys('{not json')).toEqual(['']);
    expect(keys({ id: 'x' })).toEqual(['job']);
    expect(keys({ job, id: 'has.dot' })).toEqual(['id']);
    expect(keys({ job, priority: 1.5 })).toEqual(['priority']);
    expect(keys({ job, colour: 'red' })).toEqual(['colour']);
    expect(keys([job])).toEqual(['']);
  });
});

describe('brief', () => {
  it('carries the times of submission, start and end, and no spec', () => {
    let r: JobRecord = { id: 'a', name: 'n', state: 'queued', priority: 0, seq: 1, spec: { big: true }, history: [{ state: 'queued', at: 't0' }] };
    r = moved(r, 'running', new Date('2026-01-01T00:00:01Z'), { output: '/s/jobs/a' });
    expect(brief(r)).toEqual({ id: 'a', name: 'n', state: 'running', priority: 0, seq: 1, submittedAt: 't0', startedAt: '2026-01-01T00:00:01.000Z', output: '/s/jobs/a' });
    r = moved(r, 'failed', new Date('2026-01-01T00:00:02Z'), { reason: 'lost' });
    expect(brief(r)).toMatchObject({ state: 'failed', endedAt: '2026-01-01T00:00:02.000Z', reason: 'lost' });
    expect(brief(r)).not.toHaveProperty('spec');
  });
});
