/** Checking a service-mode submission before it is recorded (no server needed). */
import { describe, expect, it } from 'vitest';
import { brief } from '../src/service/protocol.js';
import { checkSubmission } from '../src/service/validate.js';
import { moved, type JobRecord } from '../src/service/job-states.js';

const RULES = { dataRoots: ['/usr/share/datasets'] };
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const job = {
  name: 'blobs',
  type: 'supervised',
  data: { source: 'synthetic', kind: 'blobs', samples: 256, features: 4, classes: 2 },
  model: { zoo: 'mlp', hidden: [8] },
};

describe('checkSubmission', () => {
  it('accepts a job, fills its defaults, and names a job without id after its stream sequence', () => {
    const c = checkSubmission(enc({ job }), 42, RULES);
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.id).toBe('job-42');
    expect(c.priority).toBe(0);
    expect(c.spec.cluster.workers).toBeGreaterThan(0);
    const named = checkSubmission(enc({ job, id: 'mine_1', priority: 7 }), 1, RULES);
    expect(named).toMatchObject({ ok: true, id: 'mine_1', priority: 7 });
  });

  it('names every bad key of the job', () => {
    const bad = { ...job, train: { epochs: 'three', optimizer: { name: 'adam', lr: 0.01, betaa: 3 } } };
    const c = checkSubmission(enc({ job: bad, id: 'b1' }), 3, RULES);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.issues.map((i) => i.key).sort()).toEqual(['train.epochs', 'train.optimizer.betaa']);
    expect(c.error).toMatch(/^invalid job b1: /);
    expect(c.error).toContain('train.epochs: expected number, got string');
  });

  it('a job naming files of the coordinator is refused before any file is looked at: a topology file, data outside the data roots', () => {
    const refusal = (j: unknown) => {
      const c = checkSubmission(enc({ job: j, id: 'f1' }), 1, RULES);
      return c.ok ? undefined : c;
    };
    // /etc/passwd exists and is not JSON: neither fact, nor a character of it, may come back.
    const topo = refusal({ ...job, model: { topology: '/etc/passwd' } });
    expect(topo?.issues).toEqual([{ key: 'model.topology', message: expect.stringMatching(/^must be the topology itself in a submission, not a file name/) }]);
    expect(topo?.error).not.toMatch(/root|not JSON|no such file/);
    const data = refusal({ ...job, data: { source: 'fashion-mnist', path: '/etc' } });
    expect(data?.issues).toEqual([{ key: 'data.path', message: 'must be under a data root of the coordinator (/usr/share/datasets; dtrain coordinator --data-root DIR allows more)' }]);
    // ".." does not climb out of a root; a folder that does not exist is refused the same way (nothing said of it).
    expect(refusal({ ...job, data: { source: 'fashion-mnist', path: '/usr/share/datasets/../../../etc' } })?.issues.map((i) => i.key)).toEqual(['data.path']);
    expect(refusal({ ...job, data: { source: 'fashion-mnist', path: '/nowhere/at/all' } })?.issues[0].message).toMatch(/^must be under a data root/);
    expect(refusal({ ...job, data: { source: 'fashion-mnist', path: '/usr/share/datasets-evil' } })?.issues.map((i) => i.key)).toEqual(['data.path']);
    // The same job with an inline topology is taken (the check can pass).
    const inline = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { units: 2, batch_input_shape: [null, 4] } }] } };
    expect(checkSubmission(enc({ job: { ...job, model: { topology: inline } } }), 1, RULES).ok).toBe(true);
  });

  it('runs no code a submission names (a model module, a data module), and reads own-data files only under the data roots', () => {
    const refusal = (j: unknown) => {
      const c = checkSubmission(enc({ job: j, id: 'm1' }), 1, RULES);
      return c.ok ? undefined : c;
    };
    expect(refusal({ ...job, model: { module: '/tmp/evil.mjs' } })?.issues).toEqual([{ key: 'model.module', message: expect.stringMatching(/^a model module is code: the coordinator runs none that a submission names/) }]);
    expect(refusal({ ...job, data: { source: 'module', module: '/tmp/evil.mjs' } })?.issues).toEqual([{ key: 'data.module', message: expect.stringMatching(/^a data module is code/) }]);
    const csv = refusal({ ...job, data: { source: 'csv', path: '/etc/passwd', label: 0, testPath: '/usr/share/datasets/t.csv' } });
    expect(csv?.issues).toEqual([{ key: 'data.path', message: expect.stringMatching(/^must be under a data root/) }]);
    expect(csv?.error).not.toMatch(/root:|no such file/);
    expect(refusal({ ...job, data: { source: 'npy', x: '/usr/share/datasets/x.npy', y: '/home/y.npy' } })?.issues.map((i) => i.key)).toEqual(['data.y']);
    expect(refusal({ ...job, data: { source: 'images', path: '/srv/pics', size: [8, 8] } })?.issues.map((i) => i.key)).toEqual(['data.path']);
  });

  it('refuses a malformed envelope: not JSON, no job, a bad id or priority, an unknown key', () => {
    const keys = (data: unknown) => {
      const c = checkSubmission(enc(data), 1, RULES);
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
