/** Job type `gan`: a generator and a discriminator trained by Goodfellow et al.'s Algorithm 1. */
import type { JobType } from '../job-type.js';
import { runGanJob } from './coordinator.js';
import { checkGan, ganJobSchema, resolveClassifier, type GanJob } from './spec.js';
import { describeGan } from './summary.js';
import { buildGanWorker } from './worker.js';

export const gan: JobType = {
  name: 'gan',
  schema: ganJobSchema,
  check: checkGan,
  resolveFiles: (spec, baseDir) => resolveClassifier(spec, baseDir),
  run: (ctx) => runGanJob(ctx, ctx.spec as GanJob),
  buildWorker: (spec) => buildGanWorker(spec as GanJob),
  describe: describeGan,
};
