/**
 * Checkpoints: the coordinator writes the whole state of a job at a step
 * boundary to DIR/checkpoints/step-NNNNNNN/, so that `dtrain run --resume
 * DIR` redoes nothing and computes what an undisturbed run computes:
 *
 *   job.json          the job as it ran
 *   checkpoint.json   the step, where the optimizer states live, the job
 *                     type's own loop state (metric windows, pictures…)
 *   optimizers.bin    the optimizer states' slots (tensor/optimizers/state-blob.ts)
 *   metrics.jsonl     the run's metrics up to this step
 *   <network>/        each network in the tfjs LayersModel format (plain tfjs loads it)
 *
 * When one is due (`due`), the step loop holds the next step's commands
 * until the job type has fetched the state (a barrier: every worker has
 * finished the step and none has started the next). The state is copied
 * into memory then; the files are written in the background, into a
 * temporary folder that is synced and renamed, so a half-written
 * checkpoint is never read back.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { JobSpec } from '../spec/job-spec.js';
import { packStates, unpackStates, type OptimizerState, type OptimizerStateMeta } from '../tensor/optimizers/index.js';
import { MODEL_FILES, modelFiles, type ModelFiles } from '../tensor/models/save.js';
import { errorMessage, RegroupError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export const CHECKPOINTS = 'checkpoints';
const INFO = 'checkpoint.json';
const OPTIMIZERS = 'optimizers.bin';
const STEP_DIR = /^step-(\d+)$/;

export interface CheckpointSettings {
  /** Every this many steps (absent: not by count). */
  every?: number;
  /** Every this many minutes (0: not by time). */
  minutes: number;
  /** At the end of every epoch. */
  epochEnd: boolean;
  /** How many to keep, newest first; 0 turns checkpoints off. */
  keep: number;
}

/** What a job type hands over at a step boundary. */
export interface CheckpointContent {
  /** Steps completed. */
  step: number;
  spec: JobSpec;
  /** Its networks by folder name, holding the trained values and state. */
  networks: Record<string, LayersModel>;
  /** The optimizer states, in the order of `optimizersAt`'s owners. */
  optimizers: (OptimizerState | null)[];
  /** workers: each replica applies them (ring); shards: the parameter servers do (one state, whole). */
  optimizersAt: 'workers' | 'shards';
  /** The job type's coordinator state, as JSON. */
  loop: Record<string, unknown>;
  /** Each worker's own state, by rank, where replicas keep their own (batch-norm `local`); absent where they agree. */
  replicaStates?: Float32Array[];
}

/** A checkpoint read back: what was handed over, with the networks left in their folders. */
export interface LoadedCheckpoint extends Pick<CheckpointContent, 'step' | 'optimizers' | 'optimizersAt' | 'loop' | 'replicaStates'> {
  dir: string;
  /** The job as it ran (not yet checked). */
  job: unknown;
  /** The folder of a saved network. */
  network(name: string): string;
}

interface Info {
  version: 1;
  step: number;
  createdAt: string;
  networks: string[];
  optimizers: (OptimizerStateMeta | null)[];
  optimizersAt: 'workers' | 'shards';
  loop: Record<string, unknown>;
  /** How many replica states replica-states.bin holds, each stateLength values. */
  replicaStates?: number;
  /** Every other file of the checkpoint, by path inside it: read back only if each is whole (a disk that lost or changed a byte). */
  files?: Record<string, { bytes: number; sha256: string }>;
}

const REPLICA_STATES = 'replica-states.bin';

export class Checkpoints {
  /** The folder of the newest complete checkpoint. */
  latest: string | undefined;
  /** Set while a step loop can stop at a checkpoint (Ctrl-C then writes one before the job ends). */
  active = false;
  private readonly decided = new Map<number, boolean>();
  private lastAt = performance.now();
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private stop: Error | undefined;
  private plan = { totalSteps: 0, stepsPerEpoch: 0 };

  constructor(
    private readonly outDir: string,
    private readonly settings: CheckpointSettings,
    private readonly log: Logger,
    /** The job as given, recorded in each checkpoint's job.json (a session may run it with fewer workers). */
    private readonly recordAs?: JobSpec,
  ) {
    // Temporary folders of a process killed while writing: never complete, never read.
    const root = join(outDir, CHECKPOINTS);
    if (existsSync(root)) for (const d of readdirSync(root)) if (d.startsWith('.tmp-')) rmSync(join(root, d), { recursive: true, force: true });
    this.latest = latestCheckpoint(outDir);
  }

  /** The run's shape, as its steps begin: checkpoints fall at epoch ends and not after the last step. */
  start(totalSteps: number, stepsPerEpoch: number): void {
    this.plan = { totalSteps, stepsPerEpoch };
    this.active = this.settings.keep > 0;
  }

  /** The steps are over: an interruption now ends the job at once. */
  finish(): void {
    this.active = false;
  }

  /** Whether a checkpoint is taken once `step` (0-based) is done; decided once per step, when its successor is about to go out. */
  due(step: number): boolean {
    let d = this.decided.get(step);
    if (d === undefined) {
      const n = step + 1;
      const s = this.settings;
      const byTime = s.minutes > 0 && performance.now() - this.lastAt >= s.minutes * 60_000;
      const byEpoch = s.epochEnd && this.plan.stepsPerEpoch > 0 && n % this.plan.stepsPerEpoch === 0;
      const byCount = s.every !== undefined && n % s.every === 0;
      // The last step needs none (the job saves its results next), unless the run is being interrupted.
      d = this.active && (this.stop !== undefined || (n < this.plan.totalSteps && (byTime || byEpoch || byCount)));
      this.decided.set(step, d);
    }
    return d;
  }

  /** Ctrl-C (or workers waiting to join): the next checkpoint is taken as soon as it can be, then the job ends with `err`. A Ctrl-C wins over a regroup. */
  interrupt(err: Error): void {
    if (!this.stop || (this.stop instanceof RegroupError && !(err instanceof RegroupError))) this.stop = err;
  }

  /** The interruption to end the job with, once its checkpoint is taken. */
  get stopping(): Error | undefined {
    return this.stop;
  }

  /** Copies the state now; the files follow in the background (`flush` waits for them). */
  async save(c: CheckpointContent): Promise<void> {
    // At most one checkpoint waits in memory for its files: a new one waits for the last one's.
    await this.writing;
    if (this.failure) throw this.failure;
    this.lastAt = performance.now();
    const t0 = performance.now();
    const networks = await Promise.all(Object.entries(c.networks).map(async ([name, model]) => [name, await modelFiles(model)] as const));
    const packed = packStates(c.optimizers);
    const replicas = c.replicaStates ?? [];
    const replicaData = Buffer.concat(replicas.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength)));
    const metrics = join(this.outDir, 'metrics.jsonl');
    const snapshot: Snapshot = {
      step: c.step,
      job: `${JSON.stringify(this.recordAs ?? c.spec, null, 2)}\n`,
      // As text now: the loop state goes on changing once the steps resume.
      info: `${JSON.stringify({ version: 1, step: c.step, createdAt: new Date().toISOString(), networks: networks.map(([n]) => n), optimizers: packed.meta, optimizersAt: c.optimizersAt, loop: c.loop, ...(replicas.length > 0 ? { replicaStates: replicas.length } : {}) } satisfies Info, null, 2)}\n`,
      replicas: replicaData,
      optimizers: Buffer.from(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength),
      metrics: existsSync(metrics) ? readFileSync(metrics) : Buffer.alloc(0),
      networks,
    };
    const copied = performance.now() - t0;
    this.writing = this.writing.then(() =>
      this.write(snapshot, copied).catch((err: unknown) => {
        this.failure = new Error(`writing the checkpoint of step ${c.step} failed: ${errorMessage(err)}`, { cause: err });
      }),
    );
  }

  /** Waits for the checkpoints being written; throws if one could not be. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }

  private async write(s: Snapshot, copiedMs: number): Promise<void> {
    const t0 = performance.now();
    const root = join(this.outDir, CHECKPOINTS);
    const name = `step-${String(s.step).padStart(7, '0')}`;
    const tmp = join(root, `.tmp-${name}-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const contents: [string, string | Buffer][] = [
      ['job.json', s.job],
      [OPTIMIZERS, s.optimizers],
      ...(s.replicas.length > 0 ? [[REPLICA_STATES, s.replicas] as [string, Buffer]] : []),
      ['metrics.jsonl', s.metrics],
      ...s.networks.flatMap(([net, f]): [string, string | Buffer][] => [
        [`${net}/${MODEL_FILES.weights}`, f.weights],
        [`${net}/${MODEL_FILES.json}`, f.json],
      ]),
    ];
    for (const [net] of s.networks) await mkdir(join(tmp, net), { recursive: true });
    for (const [path, data] of contents) await durable(join(tmp, path), data);
    for (const [net] of s.networks) await syncDir(join(tmp, net));
    const files = Object.fromEntries(contents.map(([path, data]) => [path, digest(data)]));
    await durable(join(tmp, INFO), `${JSON.stringify({ ...(JSON.parse(s.info) as Info), files }, null, 2)}\n`);
    await syncDir(tmp);
    const final = join(root, name);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    await syncDir(root);
    this.latest = final;
    this.prune(root);
    this.log.info({ checkpoint: final, step: s.step, copiedMs, writeMs: performance.now() - t0 }, 'checkpoint written');
  }

  private prune(root: string): void {
    for (const dir of checkpointDirs(root).slice(this.settings.keep)) rmSync(join(root, dir), { recursive: true, force: true });
  }
}

interface Snapshot {
  step: number;
  job: string;
  info: string;
  optimizers: Buffer;
  replicas: Buffer;
  metrics: Buffer;
  networks: (readonly [string, ModelFiles])[];
}

/** Writes a file and syncs it to disk before the folder holding it is renamed into place. */
async function durable(file: string, data: string | Buffer): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function digest(data: string | Buffer | Uint8Array): { bytes: number; sha256: string } {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return { bytes: b.byteLength, sha256: createHash('sha256').update(b).digest('hex') };
}

/** Throws, naming the file, unless every file the checkpoint lists is there and whole. */
function verify(dir: string, files: Info['files']): void {
  for (const [path, want] of Object.entries(files ?? {})) {
    const file = join(dir, path);
    if (!existsSync(file)) throw new Error(`${file} is missing`);
    const got = digest(readFileSync(file));
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) throw new Error(`${file} is damaged (${got.bytes} bytes, sha256 ${got.sha256.slice(0, 12)}…; written: ${want.bytes} bytes, ${want.sha256.slice(0, 12)}…)`);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A run folder's complete checkpoints, newest first. */
function checkpointDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => STEP_DIR.test(d) && existsSync(join(root, d, INFO)))
    .sort()
    .reverse();
}

/** The newest complete checkpoint of a run folder, if it has one. */
export function latestCheckpoint(outDir: string): string | undefined {
  const [newest] = checkpointDirs(join(outDir, CHECKPOINTS));
  return newest === undefined ? undefined : join(outDir, CHECKPOINTS, newest);
}

export function readCheckpoint(dir: string): LoadedCheckpoint {
  const info = JSON.parse(readFileSync(join(dir, INFO), 'utf8')) as Info;
  if (info.version !== 1) throw new Error(`${dir}: checkpoint version ${String(info.version)}, this dtrain reads version 1`);
  verify(dir, info.files);
  const blob = readFileSync(join(dir, OPTIMIZERS));
  const data = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  return {
    dir,
    ...(info.replicaStates ? { replicaStates: splitStates(readFileSync(join(dir, REPLICA_STATES)), info.replicaStates) } : {}),
    step: info.step,
    job: JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')),
    optimizers: unpackStates({ meta: info.optimizers, data }),
    optimizersAt: info.optimizersAt,
    loop: info.loop,
    network: (name) => join(dir, name),
  };
}

function splitStates(b: Buffer, n: number): Float32Array[] {
  const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const each = all.length / n;
  return Array.from({ length: n }, (_, i) => all.slice(i * each, (i + 1) * each));
}

/** The metrics a checkpoint holds, to start the resumed run's metrics.jsonl from. */
export function checkpointMetrics(dir: string): Buffer {
  return readFileSync(join(dir, 'metrics.jsonl'));
}

/**
 * The newest checkpoint of a run folder that reads back whole, going back
 * to older ones past any that do not (each named in `skipped` with why).
 */
export function loadLatestCheckpoint(outDir: string): { checkpoint?: LoadedCheckpoint; skipped: { dir: string; why: string }[] } {
  const skipped: { dir: string; why: string }[] = [];
  for (const name of checkpointDirs(join(outDir, CHECKPOINTS))) {
    const dir = join(outDir, CHECKPOINTS, name);
    try {
      return { checkpoint: readCheckpoint(dir), skipped };
    } catch (err) {
      skipped.push({ dir, why: errorMessage(err) });
    }
  }
  return { skipped };
}
