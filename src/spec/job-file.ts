/**
 * Loading a job file: parse YAML or JSON, apply command-line overrides, check
 * against the schema, then check what the schema cannot (files that must exist).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import YAML from 'yaml';
import type { ZodError, ZodIssue } from 'zod';
import { JobSpecError } from '../util/errors.js';
import { DATA_FILE_KEYS } from './data.js';
import { buildJobSpecSchema, type JobSpec, type JobTypeSpec } from './job-spec.js';

export interface Overrides {
  /** `key.path=value` pairs; values are parsed as YAML scalars or flow collections. */
  set?: string[];
  workers?: number;
  strategy?: string;
  backend?: string;
  /** GPU indices, one worker each (unless workers is given too). */
  gpus?: number[];
  psShards?: number;
  staleness?: number;
}

/** Loading and checking job files of the given job types (src/jobs/registry.ts gives the registered ones). */
export interface JobFileReader {
  /** Reads, overrides and validates a job file. Throws JobSpecError naming the key and the file. */
  loadJobFile(file: string, overrides?: Overrides): JobSpec;
  /**
   * Checks an already-parsed job object (from a file, or a message); `file`
   * names it in errors. `submitted`: it came in a message (service mode) and
   * may name no file of this machine but data under the allowed roots.
   */
  parseJobSpec(raw: unknown, file: string, overrides?: Overrides, baseDir?: string, submitted?: SubmittedRules): JobSpec;
}

/** What a job that came in a message may read of the coordinator's disk. */
export interface SubmittedRules {
  /** Folders data paths must fall under (--data-root). */
  dataRoots: string[];
}

export function jobFileReader(types: readonly JobTypeSpec[], defaultType: string): JobFileReader {
  const schema = buildJobSpecSchema(types, defaultType);
  const byName = new Map(types.map((t) => [t.name, t]));
  const parseJobSpec = (raw: unknown, file: string, overrides: Overrides = {}, baseDir = process.cwd(), submitted?: SubmittedRules): JobSpec => {
    const obj = jobObject(raw, file);
    applyOverrides(obj, overrides, file);
    const parsed = schema.safeParse(obj);
    if (!parsed.success) throw new JobSpecError(file, formatZodError(parsed.error));
    const spec = parsed.data;
    // A submission is checked before any file is looked at: nothing about the disk leaks into a refusal.
    if (submitted) checkSubmitted(spec, submitted, file);
    else resolveDataFiles(spec, baseDir);
    checkDataPath(spec, file);
    if (!submitted) byName.get(spec.type)?.resolveFiles?.(spec, baseDir, file);
    return spec;
  };
  return {
    parseJobSpec,
    loadJobFile: (file, overrides = {}) => parseJobSpec(readJobFile(file), file, overrides, dirname(resolve(file))),
  };
}

/** A job file's content, parsed but not validated. */
export function readJobFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JobSpecError(file, [{ path: '', message: `cannot read the job file (${(err as NodeJS.ErrnoException).code ?? err})` }], { cause: err });
  }
  try {
    return YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new JobSpecError(file, [{ path: '', message: `not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` }], { cause: err });
  }
}

/**
 * A job file made ready to travel (dtrain submit): overrides applied and a
 * model.topology file inlined, since the coordinator cannot read the
 * submitter's files. The coordinator validates it.
 */
export function jobForSubmission(file: string, overrides: Overrides = {}): Record<string, unknown> {
  const obj = jobObject(readJobFile(file), file);
  applyOverrides(obj, overrides, file);
  const model = obj.model as Record<string, unknown> | undefined;
  if (model && typeof model === 'object' && typeof model.topology === 'string') model.topology = readTopology(resolve(dirname(resolve(file)), model.topology), file);
  return obj;
}

/** A copy of a parsed job, to override and check; a job that is not a mapping is refused. */
function jobObject(raw: unknown, file: string): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new JobSpecError(file, [{ path: '', message: 'a job must be a mapping of keys (name, data, model, train, cluster)' }]);
  }
  return structuredClone(raw) as Record<string, unknown>;
}

function applyOverrides(obj: Record<string, unknown>, o: Overrides, file: string): void {
  for (const pair of o.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new JobSpecError(file, [{ path: pair, message: '--set takes key.path=value' }]);
    const path = pair.slice(0, eq).trim();
    let value: unknown;
    try {
      value = YAML.parse(pair.slice(eq + 1));
    } catch {
      value = pair.slice(eq + 1);
    }
    setPath(obj, path.split('.'), value, file);
  }
  const cluster = (name: string, v: unknown) => v !== undefined && setPath(obj, ['cluster', name], v, file);
  cluster('workers', o.workers);
  cluster('strategy', o.strategy);
  cluster('backend', o.backend);
  cluster('gpus', o.gpus);
  if (o.gpus !== undefined && o.workers === undefined) cluster('workers', o.gpus.length);
  if (o.psShards !== undefined) setPath(obj, ['cluster', 'ps', 'shards'], o.psShards, file);
  if (o.staleness !== undefined) setPath(obj, ['cluster', 'ps', 'staleness'], o.staleness, file);
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown, file: string): void {
  let cur: Record<string, unknown> = obj;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = cur[keys[i]];
    if (next === undefined) cur[keys[i]] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      throw new JobSpecError(file, [{ path: keys.slice(0, i + 1).join('.'), message: `is not a mapping, cannot set ${keys.join('.')}` }]);
    }
    cur = cur[keys[i]] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

/** Turns zod issues into `key.path: message` lines a person can act on. */
export function formatZodError(err: ZodError): { path: string; message: string }[] {
  return err.issues.flatMap((issue) => formatIssue(issue, []));
}

function formatIssue(issue: ZodIssue, prefix: (string | number)[]): { path: string; message: string }[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    // Report the branch that came closest: the one with the fewest complaints.
    const best = [...issue.unionErrors].sort((a, b) => a.issues.length - b.issues.length)[0];
    if (best) return best.issues.flatMap((i) => formatIssue(i, prefix));
  }
  const where = path.join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ path: [...path, k].join('.'), message: 'unknown key' }));
    case 'invalid_type':
      return [{ path: where, message: issue.received === 'undefined' ? 'is required' : `expected ${issue.expected}, got ${issue.received}` }];
    case 'invalid_union_discriminator':
      return [{ path: where, message: `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}` }];
    case 'invalid_enum_value':
      return [{ path: where, message: `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, got ${JSON.stringify(issue.received)}` }];
    default:
      return [{ path: where, message: issue.message }];
  }
}

/**
 * A job from a message names no file of this machine: a topology must be
 * the topology itself (dtrain submit inlines a file), and data paths fall
 * under the operator's data roots.
 */
function checkSubmitted(spec: JobSpec, rules: SubmittedRules, file: string): void {
  const issues: { path: string; message: string }[] = [];
  const walk = (v: unknown, at: string[]) => {
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'module' && at[0] !== 'data' && typeof x === 'string') issues.push({ path: [...at, k].join('.'), message: 'a model module is code: the coordinator runs none that a submission names (submit a topology: model.topology)' });
      else if (k === 'topology' && typeof x === 'string') issues.push({ path: [...at, k].join('.'), message: 'must be the topology itself in a submission, not a file name: the coordinator reads no file a submission names (dtrain submit inlines a topology file)' });
      else walk(x, [...at, k]);
    }
  };
  walk(spec, []);
  if (spec.data.source === 'module') issues.push({ path: 'data.module', message: 'a data module is code: the coordinator runs none that a submission names (use csv, npy or images under a data root)' });
  const data = spec.data as Record<string, unknown>;
  for (const key of DATA_FILE_KEYS) {
    if (key === 'module' || typeof data[key] !== 'string') continue;
    const p = resolve(data[key]);
    const inside = rules.dataRoots.some((root) => {
      const r = resolve(root);
      return p === r || p.startsWith(r.endsWith(sep) ? r : r + sep);
    });
    if (!inside) issues.push({ path: `data.${key}`, message: `must be under a data root of the coordinator (${rules.dataRoots.join(', ')}; dtrain coordinator --data-root DIR allows more)` });
  }
  if (issues.length > 0) throw new JobSpecError(file, issues);
}

/** The files a job file's data section names are relative to the job file. */
function resolveDataFiles(spec: JobSpec, baseDir: string): void {
  const data = spec.data as Record<string, unknown>;
  for (const key of DATA_FILE_KEYS) if (typeof data[key] === 'string') data[key] = resolve(baseDir, data[key]);
}

function checkDataPath(spec: JobSpec, file: string): void {
  const data = spec.data as Record<string, unknown>;
  for (const key of DATA_FILE_KEYS) {
    const p = data[key];
    if (spec.data.source !== 'fashion-mnist' && typeof p === 'string' && !existsSync(p)) throw new JobSpecError(file, [{ path: `data.${key}`, message: `no such ${spec.data.source === 'images' ? 'folder' : 'file'}: ${p}` }]);
  }
  if (spec.data.source === 'fashion-mnist') {
    const dir = spec.data.path;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      const hint = dir === '/usr/share/datasets/fashion-mnist' ? ' (install it: apt-get install dataset-fashion-mnist)' : '';
      throw new JobSpecError(file, [{ path: 'data.path', message: `no such directory: ${dir}${hint}` }]);
    }
  }
}

/** A topology file's content: a bare topology, or a whole model.json. */
export function readTopology(p: string, file: string): Record<string, unknown> {
  if (!existsSync(p)) throw new JobSpecError(file, [{ path: 'model.topology', message: `no such file: ${p}` }]);
  let topo: unknown;
  try {
    topo = JSON.parse(readFileSync(p, 'utf8'));
  } catch (err) {
    throw new JobSpecError(file, [{ path: 'model.topology', message: `${p} is not JSON: ${(err as Error).message}` }]);
  }
  const t = topo as Record<string, unknown>;
  return (t.modelTopology ?? t) as Record<string, unknown>;
}
