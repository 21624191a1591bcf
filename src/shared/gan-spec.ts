/**
 * The sections of a `type: gan` job: the two networks and the `gan` section
 * (Goodfellow et al.'s Algorithm 1: k discriminator steps, then one
 * generator step, each network with its own optimizer).
 */
import { z } from 'zod';
import { activation, batchNorm, optimizerSchema, positiveInt } from './spec-parts.js';

/** The DCGAN paper's Adam: lr 2e-4, β1 0.5. */
const dcganAdam = { name: 'adam', lr: 0.0002, beta1: 0.5 } as const;

export const generatorSchema = z
  .object({
    /** mlp: latent → hidden layers → the data's shape. */
    zoo: z.literal('mlp'),
    hidden: z.array(positiveInt).min(1).default([128, 128]),
    activation: activation.default('relu'),
    /** linear for unbounded data (2-D mixtures); tanh for data in [−1, 1]. */
    output: z.enum(['linear', 'tanh']).default('linear'),
    batchNorm,
  })
  .strict();

export const discriminatorSchema = z
  .object({
    /** mlp: the data's shape → hidden layers → one logit. */
    zoo: z.literal('mlp'),
    hidden: z.array(positiveInt).min(1).default([128, 128]),
    /** leakyRelu is LeakyReLU(0.2), the DCGAN guideline. */
    activation: z.union([activation, z.literal('leakyRelu')]).default('leakyRelu'),
    batchNorm,
  })
  .strict();

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
  })
  .strict();

export type GeneratorSpec = z.infer<typeof generatorSchema>;
export type DiscriminatorSpec = z.infer<typeof discriminatorSchema>;
export type GanSpec = z.infer<typeof ganSchema>;
