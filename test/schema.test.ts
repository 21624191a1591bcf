/**
 * `dtrain schema job` prints the job file's JSON Schema (draft-07), made
 * from the registered job types' zod schemas. A second, independent
 * validator (ajv) finds it a valid schema, accepts every job file the
 * repository ships, and refuses what dtrain refuses: an unknown key, a
 * wrong type, an unknown data source or job type.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/jobs/registry.js';
import { killStarted, runCli, tempDir } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

/** The job files of configs/ (not its topologies/) and every examples/<name>/job.yaml. */
function shippedJobs(): string[] {
  const configs = readdirSync(join(ROOT, 'configs'))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(ROOT, 'configs', f));
  const examples = readdirSync(join(ROOT, 'examples'))
    .map((d) => join(ROOT, 'examples', d, 'job.yaml'))
    .filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
  return [...configs, ...examples];
}

const blobs = {
  name: 'schema-check',
  data: { source: 'synthetic', kind: 'blobs', samples: 200, features: 4, classes: 3 },
  model: { zoo: 'mlp', hidden: [8] },
  train: { epochs: 1, batchSize: 20, optimizer: { name: 'adam', lr: 0.01 } },
  cluster: { workers: 2, backend: 'cpu' },
};

let schema: Record<string, unknown>;
let validate: ValidateFunction;

beforeAll(async () => {
  const r = await runCli(['schema', 'job']);
  expect(r.code, r.stderr).toBe(0);
  schema = JSON.parse(r.stdout) as Record<string, unknown>;
  validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
});

const errors = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');

describe('dtrain schema job', () => {
  it('prints a valid draft-07 JSON Schema on stdout', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const ajv = new Ajv({ strict: true });
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
    expect(schema.description).toMatch(/without it is of type supervised/);
  });

  it('accepts every job file in configs/ and examples/', () => {
    const files = shippedJobs();
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files.some((f) => f.includes('examples'))).toBe(true);
    for (const f of files) {
      const job: unknown = YAML.parse(readFileSync(f, 'utf8'));
      expect(validate(job), `${f}: ${errors()}`).toBe(true);
    }
  });

  it('accepts each job type, and a job without type, as dtrain does', () => {
    const { model: _model, train: _train, ...common } = blobs;
    const jobs = [
      blobs,
      { ...blobs, type: 'supervised' },
      { ...blobs, type: 'adversarial', adversarial: { epsilon: 0.1 } },
      { ...common, type: 'gan', generator: { zoo: 'mlp' }, discriminator: { zoo: 'mlp' } },
    ];
    for (const job of jobs) {
      expect(validate(job), errors()).toBe(true);
      expect(() => parseJobSpec(job, 'job')).not.toThrow();
    }
  });

  // Each is refused by dtrain too: the schema says what the loader says.
  const refused: [string, unknown, RegExp][] = [
    ['an unknown key', { ...blobs, colour: 'red' }, /colour: unknown key/],
    ['a missing key', { ...blobs, data: undefined }, /data: is required/],
    ['an unknown nested key', { ...blobs, train: { ...blobs.train, epoch: 3 } }, /train\.epoch: unknown key/],
    ['a wrong type', { ...blobs, train: { ...blobs.train, epochs: 'three' } }, /train\.epochs: expected number, got string/],
    ['a value out of range', { ...blobs, cluster: { ...blobs.cluster, workers: 0 } }, /cluster\.workers/],
    ['an unknown data.source', { ...blobs, data: { source: 'parquet', path: 'x.parquet' } }, /data\.source/],
    ['an unknown job type', { ...blobs, type: 'rl' }, /type: must be one of/],
    ["a section of another type's", { ...blobs, generator: { zoo: 'mlp' } }, /generator: unknown key/],
  ];
  for (const [what, job, dtrainSays] of refused) {
    it(`refuses ${what}, as dtrain does`, () => {
      expect(validate(job)).toBe(false);
      expect(() => parseJobSpec(job, 'job')).toThrow(dtrainSays);
    });
  }

  it('--out FILE writes the same schema; a file that cannot be written exits 2', async () => {
    const out = join(tmp.dir, 'job.schema.json');
    const r = await runCli(['schema', 'job', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(schema);
    const bad = await runCli(['schema', 'job', '--out', join(tmp.dir, 'no-such-folder', 'job.schema.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot write .*no-such-folder/);
  });
});
