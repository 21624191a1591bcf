/**
 * The sections of a `type: gan` job: the two networks and the `gan` section
 * (Goodfellow et al.'s Algorithm 1: k discriminator steps, then one
 * generator step, each network with its own optimizer).
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { jobCommon, trainSchema, type IssueReporter, type JobSpec } from '../../spec/job-spec.js';
import { activation, batchNorm, optimizerSchema, positiveInt } from '../../spec/parts.js';

/** The DCGAN paper's Adam: lr 2e-4, β1 0.5. */
const dcganAdam = { name: 'adam', lr: 0.0002, beta1: 0.5 } as const;

const mlpGenerator = z
  .object({
    /** mlp: latent → hidden layers → the data's shape. */
    zoo: z.literal('mlp'),
    hidden: z.array(positiveInt).min(1).default([128, 128]),
    activation: activation.default('relu'),
    /** linear for unbounded data (2-D mixtures); tanh for data in [−1, 1] (images). */
    output: z.enum(['linear', 'tanh']).default('linear'),
    batchNorm,
  })
  .strict();

/** DCGAN guidelines: batch-norm in both networks (sync keeps N workers equal to one process). */
const dcganBatchNorm = z.enum(['none', 'local', 'sync']).default('sync');
const kernelSize = z.number().int().min(2).max(9).default(4);

const dcganGenerator = z
  .object({
    /**
     * dcgan: latent → dense to (H/2^L, W/2^L, filters[0]) → L stride-2
     * transposed convolutions (filters[1…], then the image's channels) →
     * tanh; batch-norm and ReLU after each layer but the last.
     */
    zoo: z.literal('dcgan'),
    filters: z.array(positiveInt).min(1).max(5).default([64, 32]),
    kernelSize,
    batchNorm: dcganBatchNorm,
  })
  .strict();

const mlpDiscriminator = z
  .object({
    /** mlp: the data's shape → hidden layers → one logit. */
    zoo: z.literal('mlp'),
    hidden: z.array(positiveInt).min(1).default([128, 128]),
    /** leakyRelu is LeakyReLU(0.2), the DCGAN guideline. */
    activation: z.union([activation, z.literal('leakyRelu')]).default('leakyRelu'),
    batchNorm,
  })
  .strict();

const dcganDiscriminator = z
  .object({
    /**
     * dcgan: image → one stride-2 convolution per filters entry (no pooling)
     * → one logit; LeakyReLU(0.2) after each, batch-norm on all but the
     * first (the input layer).
     */
    zoo: z.literal('dcgan'),
    filters: z.array(positiveInt).min(1).max(5).default([32, 64]),
    kernelSize,
    batchNorm: dcganBatchNorm,
  })
  .strict();

export const generatorSchema = z.discriminatedUnion('zoo', [mlpGenerator, dcganGenerator]);
export const discriminatorSchema = z.discriminatedUnion('zoo', [mlpDiscriminator, dcganDiscriminator]);

export const ganSchema = z
  .object({
    /** k: discriminator steps per generator step. */
    dSteps: positiveInt.max(100).default(1),
    /** Size of the noise vector z ~ N(0, I). */
    latentDim: positiveInt.max(4096).default(16),
    /** nonsaturating: G maximizes log D(G(z)); minimax: G minimizes log(1 − D(G(z))). */
    loss: z.enum(['nonsaturating', 'minimax']).default('nonsaturating'),
    /** One-sided: the discriminator's target for real samples is 1 − labelSmoothing. */
    labelSmoothing: z.number().min(0).lt(0.5).default(0),
    generatorOptimizer: optimizerSchema.default(dcganAdam),
    discriminatorOptimizer: optimizerSchema.default(dcganAdam),
    /** Generated samples the evaluation scores. */
    evalSamples: positiveInt.max(1_000_000).default(5000),
    /** Image data: write a grid of generated samples to DIR/samples/ every this many iterations (0: only at the end). */
    sampleEvery: z.number().int().min(0).default(500),
    /** Image data: how many samples a grid shows (a square number fills the grid). */
    gridSamples: positiveInt.max(1024).default(64),
    /**
     * Image data: a classifier trained by dtrain on the same data (a run's
     * DIR/model, relative to the job file), to score the generated samples
     * against real ones: mean confidence, class entropy, Inception score.
     */
    classifier: z.string().min(1).optional(),
  })
  .strict();

export type GeneratorSpec = z.infer<typeof generatorSchema>;
export type DiscriminatorSpec = z.infer<typeof discriminatorSchema>;
export type GanSpec = z.infer<typeof ganSchema>;

/**
 * A GAN job: `train` gives epochs (passes over the real data by the
 * discriminator steps), maxSteps (a cap on iterations), batchSize, lrDecay,
 * clipNorm and logEvery; each network's optimizer is in `gan`.
 */
export const ganJobSchema = z
  .object({
    ...jobCommon,
    type: z.literal('gan'),
    generator: generatorSchema,
    discriminator: discriminatorSchema,
    gan: ganSchema.default({}),
    train: trainSchema.omit({ optimizer: true }).default({}),
  })
  .strict();

export type GanJob = z.infer<typeof ganJobSchema>;

/** What a GAN needs of the cluster and what its networks and evaluation need of its data. */
export function checkGan(job: JobSpec, report: IssueReporter): void {
  const spec = job as GanJob;
  if (spec.cluster.strategy !== 'ring') report(['cluster', 'strategy'], 'gan jobs run on strategy ring (the parameter-server shards hold one network and its optimizer)');
  if (spec.data.source === 'synthetic') {
    for (const net of ['generator', 'discriminator'] as const) {
      if (spec[net].zoo === 'dcgan') report([net, 'zoo'], `dcgan needs image data (data.source: fashion-mnist); ${spec.data.kind} samples are vectors: use mlp`);
    }
    if (spec.gan.classifier !== undefined) report(['gan', 'classifier'], 'scores generated images: it needs image data (data.source: fashion-mnist)');
  } else if (spec.generator.zoo === 'mlp' && spec.generator.output !== 'tanh') {
    report(['generator', 'output'], 'must be tanh for image data: GAN jobs scale images to [−1, 1]');
  }
}

/** The classifier is relative to the job file, as topology files are; it must exist on the coordinator only (evaluation.ts checks it there). */
export function resolveClassifier(job: JobSpec, baseDir: string): void {
  const spec = job as GanJob;
  if (spec.gan.classifier !== undefined) spec.gan.classifier = resolve(baseDir, spec.gan.classifier);
}
