/** Schema pieces shared by the common job keys and the job types' sections (job-spec.ts, model.ts, jobs/<type>/spec.ts). */
import { z } from 'zod';

export const positiveInt = z.number().int().positive();

export const activation = z.enum(['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'linear']);

/**
 * Batch-norm after each hidden dense and conv layer (before the activation;
 * those layers then have no bias): none; local (each worker's shard
 * statistics); sync (the global batch's, exact across workers).
 */
export const batchNorm = z.enum(['none', 'local', 'sync']).default('none');

export const optimizerSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('sgd'), lr: z.number().positive() }).strict(),
  z
    .object({
      name: z.literal('momentum'),
      lr: z.number().positive(),
      momentum: z.number().min(0).lt(1).default(0.9),
      nesterov: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      name: z.literal('adagrad'),
      lr: z.number().positive(),
      initialAccumulator: z.number().positive().default(0.1),
    })
    .strict(),
  z
    .object({
      name: z.literal('rmsprop'),
      lr: z.number().positive(),
      decay: z.number().min(0).lt(1).default(0.9),
      momentum: z.number().min(0).lt(1).default(0),
      epsilon: z.number().positive().default(1e-7),
    })
    .strict(),
  z
    .object({
      name: z.literal('adam'),
      lr: z.number().positive(),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      epsilon: z.number().positive().default(1e-7),
    })
    .strict(),
]);


/**
 * Evaluate every this many steps (default: at every epoch's end; 0: only
 * at the end), for a validation curve: eval/* (or validation/*) in the
 * metrics, TensorBoard, plots and dashboard, `evaluations` in
 * summary.json. The model alone: an adversarial job's attacks run in the
 * final evaluation only.
 */
export const evalEvery = z.number().int().min(0).optional();
