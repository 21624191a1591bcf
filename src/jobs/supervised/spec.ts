/** The job file of a supervised job: the common keys, a classifier `model` and `train` with its optimizer. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { JobSpecError } from '../../util/errors.js';
import { z } from 'zod';
import { readTopology } from '../../spec/job-file.js';
import { jobCommon, psSettings, trainSchema, type IssueReporter, type JobSpec } from '../../spec/job-spec.js';
import { modelSchema } from '../../spec/model.js';
import { evalEvery } from '../../spec/parts.js';

/** The keys of a job that trains one classifier; adversarial jobs add theirs. */
export const classifierKeys = {
  ...jobCommon,
  model: modelSchema,
  train: trainSchema
    .extend({
      /**
       * softmax-cross-entropy: classes; sigmoid-cross-entropy: classes, one
       * yes/no logit each; mse: regression on real-valued labels (data csv,
       * npy or module); module: the model module's `loss` export.
       */
      loss: z.enum(['softmax-cross-entropy', 'sigmoid-cross-entropy', 'mse', 'module']).default('softmax-cross-entropy'),
      /** Evaluate on the held-out split every this many steps (parts.ts). */
      evalEvery,
    })
    .default({}),
};

export const supervisedJobSchema = z.object({ ...classifierKeys, type: z.literal('supervised') }).strict();

/** A job that trains one classifier on labels: supervised, or a type built on it (adversarial). */
export type SupervisedJob = Omit<z.infer<typeof supervisedJobSchema>, 'type'> & { type: string };

/** The spec of a job that trains one classifier; throws for other types. */
export function asSupervised(spec: JobSpec): SupervisedJob {
  if (!('model' in spec)) throw new Error(`job ${spec.name} is of type ${spec.type}, which trains no classifier`);
  return spec as SupervisedJob;
}

/** What a classifier's model needs of the data and the cluster. */
export function checkClassifier(spec: JobSpec, issue: IssueReporter): void {
  const { model, cluster, data, train } = asSupervised(spec);
  if (train.loss === 'mse' && !['csv', 'npy', 'module'].includes(data.source)) issue(['train', 'loss'], `mse regresses on real-valued labels: data.source csv, npy or module (${data.source} has classes)`);
  if (train.loss === 'module' && !('module' in model)) issue(['train', 'loss'], 'module takes the loss from the model module (model.module), and this model has none');
  if (data.source === 'csv' && Array.isArray(data.label) && data.label.length > 1 && train.loss !== 'mse') issue(['data', 'label'], 'several label columns are regression targets: they need train.loss mse');
  if ('batchNorm' in model && model.batchNorm === 'sync' && psSettings(cluster)?.staleness !== undefined) {
    issue(['model', 'batchNorm'], 'sync needs every worker on the same step, and cluster.ps.staleness lets them drift apart: use batchNorm local, or drop staleness');
  }
  if ('zoo' in model && model.zoo === 'cnn' && (data.source === 'csv' || data.source === 'synthetic')) {
    issue(['model', 'zoo'], `the cnn needs image data (fashion-mnist, images, or npy/module samples of shape [H, W, C]); ${data.source} samples are vectors`);
  }
}

/**
 * A model.topology file, relative to the job file, is read into the spec
 * (workers cannot read the submitter's files); a model.module path is made
 * absolute (each process imports it: on other hosts, at the same path).
 */
export function inlineTopology(spec: JobSpec, baseDir: string, file: string): void {
  const { model } = asSupervised(spec);
  if ('topology' in model && typeof model.topology === 'string') model.topology = readTopology(resolve(baseDir, model.topology), file);
  if ('module' in model) {
    model.module = resolve(baseDir, model.module);
    if (!existsSync(model.module)) throw new JobSpecError(file, [{ path: 'model.module', message: `no such file: ${model.module}` }]);
  }
}
