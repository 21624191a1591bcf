/**
 * The job file of a `type: vae` job (Kingma & Welling's variational
 * autoencoder): the encoder and decoder (`model`), the latent size and the
 * weight of the KL term (`vae`), and `train` with the one optimizer that
 * updates both networks.
 */
import { z } from 'zod';
import { jobCommon, trainSchema, type IssueReporter, type JobSpec } from '../../spec/job-spec.js';
import { activation, evalEvery, optimizerSchema, positiveInt } from '../../spec/parts.js';

const mlpNetworks = z
  .object({
    /**
     * mlp: encoder: the input (flattened) → `hidden` dense layers → the mean
     * and log-variance of q(z|x); decoder: z → `hidden` in reverse → one
     * logit per input value.
     */
    zoo: z.literal('mlp'),
    /** The encoder's hidden layer sizes; the decoder mirrors them. */
    hidden: z.array(positiveInt).min(1).max(8).default([512, 256]),
    /** The hidden layers' activation, in both networks. */
    activation: activation.default('relu'),
  })
  .strict();

const convNetworks = z
  .object({
    /**
     * conv (images [H, W, C]): encoder: a stride-2 convolution per `filters`
     * entry → dense to the mean and log-variance of q(z|x); decoder: dense to
     * (H/2^L, W/2^L, last filters) → stride-2 transposed convolutions with
     * the filters in reverse, the last to the image's channels → one logit
     * per pixel. H and W must be divisible by 2^L (L = filters entries).
     */
    zoo: z.literal('conv'),
    /** The encoder's convolutions' filters, each halving the image's sides; the decoder mirrors them. */
    filters: z.array(positiveInt).min(1).max(5).default([32, 64]),
    /** Side of every (transposed) convolution's kernel. */
    kernelSize: z.number().int().min(2).max(9).default(4),
    /** The activation after every layer but the outputs, in both networks. */
    activation: activation.default('relu'),
  })
  .strict();

/** The encoder and the decoder: one zoo for both, the decoder the encoder's mirror. */
export const vaeModelSchema = z.discriminatedUnion('zoo', [mlpNetworks, convNetworks]);

export const vaeSchema = z
  .object({
    /** Size of the latent vector z; the prior is N(0, I). */
    latent: positiveInt.max(4096).default(16),
    /**
     * Weight of KL(q(z|x) ‖ N(0, I)) in the training loss (β-VAE; 1: the
     * ELBO itself). The evaluation's ELBO always weighs it 1.
     */
    beta: z.number().min(0).max(1000).default(1),
    /** Image data: decoded samples of z ~ N(0, I) in DIR/samples.png (a square number fills the grid). */
    samples: positiveInt.max(1024).default(64),
    /** Image data: the first this many test images beside their reconstructions in DIR/reconstructions.png. */
    reconstructions: positiveInt.max(1024).default(36),
  })
  .strict();

export type VaeModelSpec = z.infer<typeof vaeModelSchema>;
export type VaeSpec = z.infer<typeof vaeSchema>;

/** A VAE job: `train` gives epochs, batchSize, the optimizer of both networks (default Adam 1e-3), lrDecay, clipNorm. */
export const vaeJobSchema = z
  .object({
    ...jobCommon,
    type: z.literal('vae'),
    model: vaeModelSchema.default({ zoo: 'mlp' }),
    vae: vaeSchema.default({}),
    train: trainSchema.extend({ optimizer: optimizerSchema.default({ name: 'adam', lr: 0.001 }), evalEvery }).default({}),
  })
  .strict();

export type VaeJob = z.infer<typeof vaeJobSchema>;

/** The sample shape of sources that fix it before any file is read. */
function knownImageShape(data: JobSpec['data']): [number, number, number] | undefined {
  if (data.source === 'fashion-mnist') return [28, 28, 1];
  if (data.source === 'images') return [data.size[0], data.size[1], data.channels];
  return undefined;
}

/** What a VAE needs of its data (values in [0, 1], images for conv) and of the cluster. */
export function checkVae(job: JobSpec, issue: IssueReporter): void {
  const spec = job as VaeJob;
  const { data, model } = spec;
  if (data.source === 'synthetic') {
    issue(['data', 'source'], 'vae jobs model every value as a Bernoulli probability in [0, 1], and synthetic points are unbounded: use fashion-mnist, images, or csv, npy or module data with values in [0, 1]');
  }
  if (data.validation !== undefined) issue(['data', 'validation'], 'vae jobs evaluate on the test split only (train.evalEvery and at the end): drop data.validation');
  if (spec.cluster.overlap) issue(['cluster', 'overlap'], 'vae jobs sum their gradients after the backward pass: drop cluster.overlap');
  if (model.zoo !== 'conv') return;
  if (data.source === 'csv' || data.source === 'synthetic') issue(['model', 'zoo'], `conv needs image data (fashion-mnist, images, or npy/module samples of shape [H, W, C]); ${data.source} samples are vectors: use mlp`);
  const shape = knownImageShape(data);
  if (shape) {
    const message = convShapeProblem(model.filters.length, shape);
    if (message) issue(['model', 'filters'], message);
  }
}

/** Why `layers` stride-2 convolutions cannot go down and back up to images of `shape` exactly; undefined if they can. */
export function convShapeProblem(layers: number, shape: number[]): string | undefined {
  if (shape.length !== 3) return `conv needs images [H, W, C], and the samples have shape [${shape}]: use mlp`;
  const [h, w] = shape;
  const down = 2 ** layers;
  if (h % down === 0 && w % down === 0) return undefined;
  return `${layers} stride-2 convolutions need the image's sides (${h}×${w}) divisible by ${down}: use fewer filters entries`;
}
