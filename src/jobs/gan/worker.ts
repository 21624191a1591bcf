/** The worker's side of a GAN job: the data in the generator's range, both networks, the Algorithm 1 step program. */
import type { DataSplits } from '../../data/dataset.js';
import { thenOrNow } from '../../util/then-or-now.js';
import type { WorkerJob } from '../job-type.js';
import { loadGanData } from './data.js';
import { GanProgram } from './program.js';
import type { GanJob } from './spec.js';
import { buildGan } from './zoo.js';

export function buildGanWorker(spec: GanJob): Promise<WorkerJob> {
  // In-memory data: the networks are built in this synchronous stretch (weight counts hook their weights).
  return thenOrNow(loadGanData(spec), (data) => ganWorker(spec, data));
}

function ganWorker(spec: GanJob, data: DataSplits): WorkerJob {
  const models = buildGan(spec.generator, spec.discriminator, spec.gan.latentDim, data.train.featureShape, spec.seed);
  return {
    models: [models.generator, models.discriminator],
    // Each network is updated on the compute thread with its own optimizer (program.ts); the comm thread only sums.
    rule: { optimizer: spec.gan.discriminatorOptimizer, clipNorm: spec.train.clipNorm },
    program: (deps) => new GanProgram({ ...deps, spec, models, data }),
  };
}
