/** Job type `adversarial`: a supervised job whose minibatches are attacked (PGD or FGSM) on every worker. */
import type { JobType } from '../job-type.js';
import { runClassifierJob } from '../supervised/coordinator.js';
import { checkClassifier, inlineTopology } from '../supervised/spec.js';
import { describeClassifier } from '../supervised/summary.js';
import { buildClassifierWorker } from '../supervised/worker.js';
import { Adversary } from './adversary.js';
import { adversarialExtension } from './coordinator.js';
import { adversarialJobSchema, type AdversarialJob } from './spec.js';
import { robustLine, robustOf } from './summary.js';

export const adversarial: JobType = {
  name: 'adversarial',
  schema: adversarialJobSchema,
  check: (spec, issue) => {
    checkClassifier(spec, issue);
    // The attacks climb the softmax cross-entropy of the labels.
    if ((spec as AdversarialJob).train.loss !== 'softmax-cross-entropy') issue(['train', 'loss'], 'adversarial training attacks and trains on softmax-cross-entropy only');
  },
  resolveFiles: inlineTopology,
  run: (ctx) => {
    const spec = ctx.spec as AdversarialJob;
    return runClassifierJob(ctx, spec, adversarialExtension(spec));
  },
  buildWorker: (job) => {
    const spec = job as AdversarialJob;
    return buildClassifierWorker(spec, (data) => new Adversary(spec, data.train.featureShape, data.train.classes));
  },
  describe: (s, outDir) => {
    const a = robustOf(s);
    return describeClassifier(s, outDir, a ? `  ${robustLine(a)}\n` : '');
  },
};
