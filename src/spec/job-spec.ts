/**
 * The job file: one typed schema per concern, checked at load. Unknown keys,
 * wrong types and impossible values are errors that name the key and the file.
 */
import { z } from 'zod';

import { adversarialSchema } from '../jobs/adversarial/spec.js';
import { discriminatorSchema, generatorSchema, ganSchema } from '../jobs/gan/spec.js';
import { activation, batchNorm, optimizerSchema, positiveInt } from './parts.js';

export { optimizerSchema };

export const DEFAULT_FASHION_MNIST_PATH = '/usr/share/datasets/fashion-mnist';

const fashionMnist = z
  .object({
    source: z.literal('fashion-mnist'),
    /** Folder holding the four IDX files (gzipped or not). */
    path: z.string().min(1).default(DEFAULT_FASHION_MNIST_PATH),
    /** Use only the first N training samples. */
    limit: positiveInt.optional(),
    /** Evaluate on only the first N test samples (default: the whole test set). */
    testLimit: positiveInt.optional(),
  })
  .strict();

const synthetic = z
  .object({
    source: z.literal('synthetic'),
    /**
     * blobs: Gaussian clusters; spirals: interleaved arms (2 features only);
     * ring8, grid25: the 2-D mixtures of GAN papers (8 modes on a circle,
     * a 5×5 grid; features 2, classes = the modes).
     */
    kind: z.enum(['blobs', 'spirals', 'ring8', 'grid25']),
    /** Training samples; a test split of a fifth of this size is drawn beside it. */
    samples: positiveInt.default(2000),
    features: positiveInt.default(2),
    classes: z.number().int().min(2).default(3),
    /** Standard deviation of the noise added to each point (default 0.5; ring8 0.02, grid25 0.05). */
    noise: z.number().nonnegative().optional(),
  })
  .strict();

export const dataSchema = z.discriminatedUnion('source', [fashionMnist, synthetic]);

const dropoutRate = z.number().min(0).lt(1);

const mlp = z
  .object({
    zoo: z.literal('mlp'),
    hidden: z.array(positiveInt).default([256, 128]),
    activation: activation.default('relu'),
    /** Dropout rate after each hidden layer; masks are seeded per sample. */
    dropout: dropoutRate.default(0),
    batchNorm,
  })
  .strict();

const cnn = z
  .object({
    zoo: z.literal('cnn'),
    /** Filters of each conv block (3x3 conv + activation + 2x2 max-pool). */
    conv: z.array(positiveInt).min(1).default([32, 64]),
    kernelSize: positiveInt.default(3),
    dense: z.array(positiveInt).default([128]),
    activation: activation.default('relu'),
    dropout: dropoutRate.default(0),
    batchNorm,
  })
  .strict();

const topology = z
  .object({
    /** A tfjs-layers model topology (model.json's `modelTopology`, or a file path to it). */
    topology: z.union([z.string().min(1), z.record(z.unknown())]),
  })
  .strict();

export const modelSchema = z.union([z.discriminatedUnion('zoo', [mlp, cnn]), topology]);

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
    /** Write a metrics line every N steps. */
    logEvery: positiveInt.default(10),
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
    backend: z.enum(['auto', 'cpu', 'wasm', 'tensorflow']).default('auto'),
    /** Largest ring chunk in bytes (≤ 16 MiB). */
    chunkBytes: z
      .number()
      .int()
      .min(4096)
      .max(16 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** A worker silent this long (heartbeats included) is declared lost. */
    heartbeatTimeoutMs: z.number().int().min(500).default(5000),
  })
  .strict();

const jobCommon = {
  name: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  seed: z.number().int().nonnegative().default(0),
  data: dataSchema,
  cluster: clusterSchema.default({}),
};

const supervisedJob = z
  .object({
    ...jobCommon,
    type: z.literal('supervised'),
    model: modelSchema,
    train: trainSchema.default({}),
  })
  .strict();

/** Adversarial training: a supervised job whose minibatches are attacked on every worker (see adversarial-spec.ts). */
const adversarialJob = z
  .object({
    ...jobCommon,
    type: z.literal('adversarial'),
    model: modelSchema,
    train: trainSchema.default({}),
    adversarial: adversarialSchema.default({}),
  })
  .strict();

/**
 * A GAN: `train` gives epochs (passes over the real data by the
 * discriminator steps), maxSteps (a cap on iterations), batchSize, lrDecay,
 * clipNorm and logEvery; each network's optimizer is in `gan`.
 */
const ganJob = z
  .object({
    ...jobCommon,
    type: z.literal('gan'),
    generator: generatorSchema,
    discriminator: discriminatorSchema,
    gan: ganSchema.default({}),
    train: trainSchema.omit({ optimizer: true }).default({}),
  })
  .strict();

/** A job file without `type` is supervised. */
const withType = (raw: unknown) => (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !('type' in raw) ? { ...raw, type: 'supervised' } : raw);

export const jobSpecSchema = z
  .preprocess(withType, z.discriminatedUnion('type', [supervisedJob, adversarialJob, ganJob]))
  .superRefine((spec, ctx) => {
    if (spec.train.batchSize < spec.cluster.workers) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['train', 'batchSize'],
        message: `the global batch (${spec.train.batchSize}) is smaller than cluster.workers (${spec.cluster.workers}): every worker needs at least one sample`,
      });
    }
    if (spec.data.source === 'synthetic') {
      if (spec.data.kind !== 'blobs' && spec.data.features !== 2) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['data', 'features'],
          message: `${spec.data.kind} is 2-dimensional: features must be 2`,
        });
      }
      if (spec.train.batchSize > spec.data.samples) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['train', 'batchSize'],
          message: `larger than the data set (${spec.data.samples} samples)`,
        });
      }
    }
    if (spec.data.source === 'fashion-mnist' && spec.data.limit !== undefined && spec.train.batchSize > spec.data.limit) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['train', 'batchSize'],
        message: `larger than data.limit (${spec.data.limit})`,
      });
    }
    if (spec.cluster.ps !== undefined && spec.cluster.strategy !== 'ps') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['cluster', 'ps'],
        message: `applies only to strategy ps (cluster.strategy is ${spec.cluster.strategy})`,
      });
    }
    if (spec.type === 'gan' && spec.cluster.strategy !== 'ring') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['cluster', 'strategy'],
        message: 'gan jobs run on strategy ring (the parameter-server shards hold one network and its optimizer)',
      });
    }
    if (spec.type === 'gan') checkGanData(spec, ctx);
    if (spec.type === 'gan') return;
    if ('zoo' in spec.model && spec.model.batchNorm === 'sync' && psSettings(spec.cluster)?.staleness !== undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['model', 'batchNorm'],
        message: 'sync needs every worker on the same step, and cluster.ps.staleness lets them drift apart: use batchNorm local, or drop staleness',
      });
    }
    if ('zoo' in spec.model && spec.model.zoo === 'cnn' && spec.data.source !== 'fashion-mnist') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['model', 'zoo'],
        message: 'the cnn needs image data (data.source: fashion-mnist)',
      });
    }
  });

/** What a GAN's networks and evaluation need of its data. */
function checkGanData(spec: z.infer<typeof ganJob>, ctx: z.RefinementCtx): void {
  const issue = (path: string[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
  if (spec.data.source === 'synthetic') {
    for (const net of ['generator', 'discriminator'] as const) {
      if (spec[net].zoo === 'dcgan') issue([net, 'zoo'], `dcgan needs image data (data.source: fashion-mnist); ${spec.data.kind} samples are vectors: use mlp`);
    }
    if (spec.gan.classifier !== undefined) issue(['gan', 'classifier'], 'scores generated images: it needs image data (data.source: fashion-mnist)');
  } else if (spec.generator.zoo === 'mlp' && spec.generator.output !== 'tanh') {
    issue(['generator', 'output'], 'must be tanh for image data: GAN jobs scale images to [−1, 1]');
  }
}

export type JobSpec = z.infer<typeof jobSpecSchema>;
/** A job that trains one classifier on labels: supervised, or adversarial (whose batches are attacked first). */
export type SupervisedJob = Extract<JobSpec, { type: 'supervised' | 'adversarial' }>;
export type AdversarialJob = Extract<JobSpec, { type: 'adversarial' }>;
export type GanJob = Extract<JobSpec, { type: 'gan' }>;
export type DataSpec = JobSpec['data'];
export type ModelSpec = SupervisedJob['model'];
export type TrainSpec = JobSpec['train'];
export type OptimizerSpec = SupervisedJob['train']['optimizer'];
export type LrDecaySpec = TrainSpec['lrDecay'];
export type ClusterSpec = JobSpec['cluster'];

/** The parameter-server settings of a job, defaults filled in; undefined for strategy ring. */
export function psSettings(cluster: ClusterSpec): { shards: number; staleness?: number } | undefined {
  if (cluster.strategy !== 'ps') return undefined;
  return { shards: cluster.ps?.shards ?? 1, staleness: cluster.ps?.staleness };
}

/** The spec of a job that trains one classifier (supervised or adversarial); throws for other types. */
export function asSupervised(spec: JobSpec): SupervisedJob {
  if (spec.type === 'gan') throw new Error(`job ${spec.name} is of type ${spec.type}, not supervised or adversarial`);
  return spec;
}
