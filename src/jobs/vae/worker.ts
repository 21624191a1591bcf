/** The worker's side of a VAE job: the data in [0, 1], the encoder and decoder, the step program. */
import type { DataSplits } from '../../data/dataset.js';
import { thenOrNow } from '../../util/then-or-now.js';
import type { WorkerJob } from '../job-type.js';
import { loadVaeData } from './data.js';
import { buildVae } from './networks.js';
import { VaeProgram } from './program.js';
import type { VaeJob } from './spec.js';

export function buildVaeWorker(spec: VaeJob): Promise<WorkerJob> {
  // In-memory data: the networks are built in this synchronous stretch (weight counts hook their weights).
  return thenOrNow(loadVaeData(spec), (data) => vaeWorker(spec, data));
}

function vaeWorker(spec: VaeJob, data: DataSplits): WorkerJob {
  const networks = buildVae(spec.model, spec.vae.latent, data.train.featureShape, spec.seed);
  return {
    models: [networks.encoder, networks.decoder],
    // One optimizer for both networks: they are one fusion buffer, [encoder | decoder].
    rule: { optimizer: spec.train.optimizer, clipNorm: spec.train.clipNorm, skipNonFinite: spec.train.onNonFinite === 'skip-step' },
    program: (deps) => new VaeProgram({ ...deps, spec, networks, data }),
  };
}
