/** Job type `supervised`: one classifier trained on labels (the default type of a job file). */
import type { JobType } from '../job-type.js';
import { runClassifierJob } from './coordinator.js';
import { asSupervised, checkClassifier, inlineTopology, supervisedJobSchema } from './spec.js';
import { describeClassifier } from './summary.js';
import { buildClassifierWorker } from './worker.js';

export const supervised: JobType = {
  name: 'supervised',
  schema: supervisedJobSchema,
  check: checkClassifier,
  resolveFiles: inlineTopology,
  run: (ctx) => runClassifierJob(ctx, asSupervised(ctx.spec)),
  buildWorker: (spec) => buildClassifierWorker(asSupervised(spec)),
  describe: (s, outDir) => describeClassifier(s, outDir),
};
