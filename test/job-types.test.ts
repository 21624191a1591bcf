/**
 * The job-type seam: the registry builds the job file's union from the
 * registered types, a new type needs only its own folder and a line in the
 * list, and generic code names no job type.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_JOB_TYPE, JOB_TYPES, jobTypeOf, parseJobSpec } from '../src/jobs/registry.js';
import { jobFileReader } from '../src/spec/job-file.js';
import { jobCommon, trainSchema, type JobTypeSpec } from '../src/spec/job-spec.js';
import { JobSpecError } from '../src/util/errors.js';

const common = { name: 't', data: { source: 'synthetic', kind: 'blobs', samples: 1000 }, cluster: { workers: 2 } };

/** A made-up job type: the common keys and one section of its own. */
const toy: JobTypeSpec = {
  name: 'toy',
  schema: z.object({ ...jobCommon, type: z.literal('toy'), toy: z.object({ depth: z.number().int().min(1) }).strict(), train: trainSchema.default({}) }).strict(),
  check: (spec, issue) => {
    if ((spec as unknown as { toy: { depth: number } }).toy.depth > 3) issue(['toy', 'depth'], 'at most 3');
  },
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
}

describe('the registry', () => {
  it('knows each type by the literal its schema requires', () => {
    expect(JOB_TYPES.map((t) => t.name)).toEqual(['supervised', 'adversarial', 'gan', 'vae', 'seq2seq']);
    for (const t of JOB_TYPES) expect((t.schema.shape as { type: z.ZodLiteral<string> }).type.value).toBe(t.name);
    expect(jobTypeOf({ type: 'gan', name: 'x' })).toBe(JOB_TYPES[2]);
  });

  it('reads a job file without a type as the default type', () => {
    const spec = parseJobSpec({ ...common, model: { zoo: 'mlp' } }, 'job');
    expect(spec.type).toBe(DEFAULT_JOB_TYPE);
    expect(jobTypeOf(spec).name).toBe('supervised');
  });

  it('refuses an unknown type, naming the ones it knows', () => {
    expect(() => parseJobSpec({ ...common, type: 'rl' }, 'job')).toThrow(/type: must be one of "supervised", "adversarial", "gan", "vae", "seq2seq"/);
    expect(() => jobTypeOf({ type: 'rl', name: 'x' })).toThrow(JobSpecError);
  });

  it("runs the common checks, then the type's own", () => {
    expect(() => parseJobSpec({ ...common, type: 'gan', generator: { zoo: 'mlp' }, discriminator: { zoo: 'mlp' }, train: { batchSize: 1 } }, 'job')).toThrow(
      /train\.batchSize: the global batch \(1\) is smaller than cluster\.workers/,
    );
    expect(() => parseJobSpec({ ...common, type: 'gan', generator: { zoo: 'mlp' }, discriminator: { zoo: 'mlp' }, cluster: { strategy: 'ps' } }, 'job')).toThrow(/cluster\.strategy: gan jobs run on strategy ring/);
  });
});

describe('a new job type', () => {
  const reader = jobFileReader([...JOB_TYPES, toy], 'supervised');

  it('parses with its own section once it is in the list', () => {
    const spec = reader.parseJobSpec({ ...common, type: 'toy', toy: { depth: 2 } }, 'job') as unknown as { type: string; toy: { depth: number }; train: { batchSize: number } };
    expect(spec).toMatchObject({ type: 'toy', toy: { depth: 2 }, train: { batchSize: 128 } });
    // The registered types are still read as before.
    expect(reader.parseJobSpec({ ...common, model: { zoo: 'mlp' } }, 'job').type).toBe('supervised');
  });

  it('gets its own checks and its unknown keys refused', () => {
    expect(() => reader.parseJobSpec({ ...common, type: 'toy', toy: { depth: 5 } }, 'job')).toThrow(/job: toy\.depth: at most 3/);
    expect(() => reader.parseJobSpec({ ...common, type: 'toy', toy: { depth: 1, width: 2 } }, 'job')).toThrow(/toy\.width: unknown key/);
  });

  it('is unknown to the registry until it is listed', () => {
    expect(() => parseJobSpec({ ...common, type: 'toy', toy: { depth: 2 } }, 'job')).toThrow(JobSpecError);
  });
});

describe('generic code', () => {
  const src = join(import.meta.dirname, '..', 'src');
  const generic = files(src).filter((f) => !relative(src, f).startsWith('jobs/'));
  const names = JOB_TYPES.map((t) => t.name).join('|');

  it('branches on no job type name outside src/jobs', () => {
    const branch = new RegExp(`(===|!==|case)\\s*['"\`](${names})['"\`]|['"\`](${names})['"\`]\\s*(===|!==)`);
    const found = generic.filter((f) => branch.test(readFileSync(f, 'utf8'))).map((f) => relative(src, f));
    expect(found).toEqual([]);
  });

  it('imports the registry only from entry points', () => {
    const entry = /^(api\.ts|cli\.ts|cli\/|commands\/|worker\/main\.ts|service\/(job-runner|validate|caps)\.ts)/;
    const importers = generic.filter((f) => /from '[./]*\/?jobs\/registry\.js'/.test(readFileSync(f, 'utf8'))).map((f) => relative(src, f));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((f) => !entry.test(f))).toEqual([]);
  });

  it('the checks above can fail: they find a branch and an import where there is one', () => {
    const branch = new RegExp(`(===|!==|case)\\s*['"\`](${names})['"\`]`);
    expect(branch.test("if (spec.type === 'gan') return;")).toBe(true);
    expect(/from '[./]*\/?jobs\/registry\.js'/.test("import { jobTypeOf } from '../jobs/registry.js';")).toBe(true);
  });
});
