/**
 * The job file's common parts: one typed schema per concern (data, train,
 * cluster), checked at load. Unknown keys, wrong types and impossible values
 * are errors that name the key and the file. Each job type adds its own
 * sections (src/jobs/<type>/spec.ts); buildJobSpecSchema makes the union of
 * the registered types.
 */
import { z } from 'zod';

import { checkData, dataSchema, DEFAULT_FASHION_MNIST_PATH } from './data.js';
import { optimizerSchema, positiveInt } from './parts.js';

export { optimizerSchema };

export { DEFAULT_FASHION_MNIST_PATH, dataSchema };

const lrDecay = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  /** lr · rate^(step / every) */
  z.object({ kind: z.literal('exponential'), rate: z.number().gt(0).lte(1), every: positiveInt }).strict(),
  /** lr · rate^floor(step / every) */
  z.object({ kind: z.literal('step'), rate: z.number().gt(0).lte(1), every: positiveInt }).strict(),
  /** lr / (1 + rate · step) */
  z.object({ kind: z.literal('inverse-time'), rate: z.number().nonnegative() }).strict(),
  /** cosine from lr to lr · floor over the whole run */
  z.object({ kind: z.literal('cosine'), floor: z.number().min(0).max(1).default(0) }).strict(),
]);

const checkpointSchema = z
  .object({
    /** Every this many steps (default: only at epoch ends and by time). */
    every: positiveInt.optional(),
    /** At least every this many minutes (0: not by time). */
    minutes: z.number().nonnegative().default(10),
    /** At the end of every epoch. */
    epochEnd: z.boolean().default(true),
    /** How many to keep, newest first; 0 turns checkpoints off. */
    keep: z.number().int().min(0).max(1000).default(2),
  })
  .strict();

export const trainSchema = z
  .object({
    epochs: positiveInt.default(1),
    /** Stop after this many steps even if epochs remain. */
    maxSteps: positiveInt.optional(),
    /** The GLOBAL batch: the sum of all workers' shards. */
    batchSize: positiveInt.default(128),
    optimizer: optimizerSchema.default({ name: 'sgd', lr: 0.01 }),
    lrDecay: lrDecay.default({ kind: 'none' }),
    /** Clip the averaged gradient to this global L2 norm (after the all-reduce). */
    clipNorm: z.number().positive().optional(),
    /**
     * A step whose loss or summed gradient is NaN or infinite: fail (the job
     * ends there, saying training diverged) or skip-step (every worker leaves
     * the parameters and optimizer state as they were and the job goes on;
     * summary.json counts skippedSteps). Strategy ring.
     */
    onNonFinite: z.enum(['fail', 'skip-step']).default('fail'),
    /** Write a metrics line every N steps. */
    logEvery: positiveInt.default(10),
    /** Keep a timeline of every worker's steps (data, forward/backward, waits, all-reduce, optimizer) in DIR/trace.json. */
    trace: z.boolean().default(true),
    /** Checkpoints in DIR/checkpoints/, to resume from (`dtrain run --resume DIR`). */
    checkpoint: checkpointSchema.default({}),
  })
  .strict();

const psSchema = z
  .object({
    /** Server processes; each owns a contiguous, equal-sized slice of the flat parameters and its optimizer state. */
    shards: positiveInt.max(64).default(1),
    /**
     * Absent: synchronous (every step sums all workers' gradients, as the
     * ring does). A number s: bounded staleness, each worker's gradient is
     * applied as it arrives and no worker runs more than s steps ahead of
     * the slowest.
     */
    staleness: z.number().int().nonnegative().max(1000).optional(),
  })
  .strict();

export const clusterSchema = z
  .object({
    workers: positiveInt.default(1),
    /** ring: all-reduce among the workers; ps: parameter-server shards own the parameters and run the optimizer. */
    strategy: z.enum(['ring', 'ps']).default('ring'),
    /** Strategy ps only. */
    ps: psSchema.optional(),
    backend: z.enum(['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow']).default('auto'),
    /**
     * The GPUs of the machine that `dtrain run` uses, by index: worker i
     * computes on gpus[i mod length] (webgpu: that adapter; tfjs-node-gpu:
     * CUDA_VISIBLE_DEVICES). More workers than GPUs share them.
     */
    gpus: z.array(z.number().int().nonnegative()).min(1).optional(),
    /** Largest ring chunk in bytes (≤ 16 MiB). */
    chunkBytes: z
      .number()
      .int()
      .min(4096)
      .max(16 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /**
     * Strategy ring, supervised and adversarial jobs: sum each bucket of
     * gradients (about `overlapBytes`, whole variables, from the last layer
     * back) while the backward pass computes the earlier layers, rather than
     * the whole buffer after the pass. Off by default: with one worker per
     * core no core is left for the sums (2-core machine: MLP 11.96 → 11.46
     * ms/step, CNN 72.2 → 74.2); it pays where compute leaves the CPU free.
     */
    overlap: z.boolean().default(false),
    /**
     * Strategy ring: gradients travel as 16-bit floats (half the bytes), with
     * error feedback; other sums (batch-norm statistics) stay exact. none (the
     * default) keeps N workers ≡ 1 process; with compression they differ by
     * the rounding.
     */
    compression: z.enum(['none', 'bf16', 'fp16']).default('none'),
    /**
     * Strategy ring: how the workers sum. auto (the default): through shared
     * memory when every worker of the session is on one machine (and the
     * native addon is built, scripts/build-native.mjs), else over the ring's
     * TCP links; tcp: always the TCP ring. Compression always takes the ring.
     */
    transport: z.enum(['auto', 'tcp']).default('auto'),
    overlapBytes: z
      .number()
      .int()
      .min(4096)
      .default(256 * 1024),
    /** A worker silent this long (heartbeats included) is declared lost. */
    heartbeatTimeoutMs: z.number().int().min(500).default(5000),
    /** How long the job waits for its workers and ps shards to join before it fails, saying who is missing. */
    joinTimeoutMs: z.number().int().min(1000).default(600_000),
    /** How many times a job whose worker or ps shard is lost starts again, from its latest checkpoint. */
    maxRestarts: z.number().int().min(0).max(100).default(3),
    /** dtrain coordinator: after a lost worker the job goes on with the workers left (and any waiting), down to this many. */
    minWorkers: positiveInt.default(1),
    /** dtrain coordinator: workers that join mid-job are taken at a step boundary, up to this many (default cluster.workers). */
    maxWorkers: positiveInt.optional(),
    /**
     * Encrypt the ring and ps traffic (CURVE with the cluster key) rather than
     * only authenticating each message: gradients cannot be read on the wire,
     * at ~+15% step time (README "Security"). Needs a cluster key.
     */
    encrypt: z.boolean().default(false),
  })
  .strict();


/** The keys every job file has, whatever its type; a job type's schema spreads them. */
export const jobCommon = {
  name: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
    // The default output folder is runs/<name>: "." and ".." would write into runs/ or the current folder.
    .refine((n) => n !== '.' && n !== '..', 'may not be "." or ".." (the output folder is runs/<name>)'),
  seed: z.number().int().nonnegative().default(0),
  data: dataSchema,
  cluster: clusterSchema.default({}),
};

/** What generic code (session, membership, workers, service) may read of any job: the common keys and the train keys every type has. */
export const anyJobSchema = z.object({ ...jobCommon, type: z.string(), train: trainSchema.omit({ optimizer: true }) });
export type JobSpec = z.infer<typeof anyJobSchema>;
export type DataSpec = JobSpec['data'];
export type TrainSpec = z.infer<typeof trainSchema>;
export type OptimizerSpec = z.infer<typeof optimizerSchema>;
export type LrDecaySpec = TrainSpec['lrDecay'];
export type ClusterSpec = JobSpec['cluster'];

/** Reports a problem with a key: its path in the job and what is wrong. */
export type IssueReporter = (path: (string | number)[], message: string) => void;

/** What the job file needs of a job type: its schema and the checks the schema cannot express. */
export interface JobTypeSpec {
  /** The `type:` value of its job files. */
  readonly name: string;
  /** The whole job file of this type: jobCommon, `type: z.literal(name)` and its own sections, strict. */
  readonly schema: z.AnyZodObject;
  /** Checks across keys, after the common ones; `spec` has passed `schema`. */
  check?(spec: JobSpec, issue: IssueReporter): void;
  /** Resolves paths relative to the job file's folder, reads the files the job names (job-file.ts). */
  resolveFiles?(spec: JobSpec, baseDir: string, file: string): void;
}

/**
 * The job file's schema: the union of the given types' schemas (a file
 * without `type` is of type `defaultType`), then the checks common to every
 * type, then the type's own.
 */
export function buildJobSpecSchema(types: readonly JobTypeSpec[], defaultType: string): z.ZodType<JobSpec, z.ZodTypeDef, unknown> {
  const byName = new Map(types.map((t) => [t.name, t]));
  const withType = (raw: unknown) => (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !('type' in raw) ? { ...raw, type: defaultType } : raw);
  const schemas = types.map((t) => t.schema) as [z.AnyZodObject, ...z.AnyZodObject[]];
  return z.preprocess(withType, z.discriminatedUnion('type', schemas)).superRefine((raw, ctx) => {
    const spec = raw as JobSpec;
    const issue: IssueReporter = (path, message) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    checkCommon(spec, issue);
    byName.get(spec.type)?.check?.(spec, issue);
  }) as unknown as z.ZodType<JobSpec, z.ZodTypeDef, unknown>;
}

function checkCommon(spec: JobSpec, issue: IssueReporter): void {
  if (spec.train.batchSize < spec.cluster.workers) {
    issue(['train', 'batchSize'], `the global batch (${spec.train.batchSize}) is smaller than cluster.workers (${spec.cluster.workers}): every worker needs at least one sample`);
  }
  checkData(spec.data, issue);
  if (spec.data.source === 'synthetic') {
    if (spec.data.kind !== 'blobs' && spec.data.features !== 2) issue(['data', 'features'], `${spec.data.kind} is 2-dimensional: features must be 2`);
    if (spec.train.batchSize > spec.data.samples) issue(['train', 'batchSize'], `larger than the data set (${spec.data.samples} samples)`);
  }
  if (spec.data.source === 'fashion-mnist' && spec.data.limit !== undefined && spec.train.batchSize > spec.data.limit) {
    issue(['train', 'batchSize'], `larger than data.limit (${spec.data.limit})`);
  }
  const { workers, minWorkers, maxWorkers } = spec.cluster;
  // (Only against a valid cluster.workers: a bad one is reported once, on its own key.)
  const valid = Number.isInteger(workers) && workers >= 1;
  if (valid && minWorkers > workers) issue(['cluster', 'minWorkers'], `more than cluster.workers (${workers})`);
  if (valid && maxWorkers !== undefined && maxWorkers < workers) issue(['cluster', 'maxWorkers'], `fewer than cluster.workers (${workers})`);
  if (maxWorkers !== undefined && maxWorkers > spec.train.batchSize) issue(['cluster', 'maxWorkers'], `more than the global batch (${spec.train.batchSize}): every worker needs at least one sample`);
  if (spec.cluster.ps !== undefined && spec.cluster.strategy !== 'ps') {
    issue(['cluster', 'ps'], `applies only to strategy ps (cluster.strategy is ${spec.cluster.strategy})`);
  }
  if (spec.train.onNonFinite === 'skip-step' && spec.cluster.compression !== 'none') {
    issue(['train', 'onNonFinite'], `skip-step cannot go with cluster.compression ${spec.cluster.compression}: the rounding error carried into the next step would hold the skipped step's NaN (and fp16 saturates infinities to finite values)`);
  }
  if (spec.train.onNonFinite === 'skip-step' && spec.cluster.strategy !== 'ring') {
    issue(['train', 'onNonFinite'], `skip-step applies only to strategy ring (cluster.strategy is ${spec.cluster.strategy}): each parameter-server shard sees only its slice of the gradient, and could not skip a step with the others`);
  }
  if (spec.cluster.compression !== 'none' && spec.cluster.strategy !== 'ring') {
    issue(['cluster', 'compression'], `applies only to strategy ring (cluster.strategy is ${spec.cluster.strategy}): parameter-server shards sum and update in float32`);
  }
}

/** The parameter-server settings of a job, defaults filled in; undefined for strategy ring. */
export function psSettings(cluster: ClusterSpec): { shards: number; staleness?: number } | undefined {
  if (cluster.strategy !== 'ps') return undefined;
  return { shards: cluster.ps?.shards ?? 1, staleness: cluster.ps?.staleness };
}
