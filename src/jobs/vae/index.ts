/** Job type `vae`: a variational autoencoder (encoder and decoder trained together on the negative ELBO). */
import type { JobType } from '../job-type.js';
import { runVaeJob } from './coordinator.js';
import { checkVae, vaeJobSchema, type VaeJob } from './spec.js';
import { describeVae } from './summary.js';
import { buildVaeWorker } from './worker.js';

export const vae: JobType = {
  name: 'vae',
  schema: vaeJobSchema,
  check: checkVae,
  run: (ctx) => runVaeJob(ctx, ctx.spec as VaeJob),
  buildWorker: (spec) => buildVaeWorker(spec as VaeJob),
  describe: describeVae,
};
