/** `dtrain sample DIR`: a picture of samples from a GAN run's trained generator. */
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../tensor/backend.js';
import { UsageError } from '../util/errors.js';
import { sampleShapeOf, writeSamplePicture } from '../jobs/gan/samples.js';
import { fileLoadHandler, findModelDir } from '../tensor/models/save.js';

export interface SampleFlags {
  count: number;
  out?: string;
  seed: number;
  zoom: number;
}

/** DIR may be a GAN run's folder (holding generator/) or the generator's folder itself. */
export function generatorDir(dir: string): string {
  const found = findModelDir(dir, 'generator');
  if (found) return found;
  throw new UsageError(`no generator in ${dir}: expected ${join(dir, 'generator', 'model.json')} (the output folder of a type: gan job)`);
}

export async function sampleCommand(dir: string, flags: SampleFlags): Promise<number> {
  const from = generatorDir(dir);
  await initBackend('cpu');
  const generator = await tfl.loadLayersModel(fileLoadHandler(from));
  const out = flags.out ?? join(dir, 'samples', `sample-seed${flags.seed}.png`);
  const size = writeSamplePicture(generator, flags.seed, flags.count, out, flags.zoom);
  const shape = sampleShapeOf(generator);
  const kind = shape.length === 1 ? 'scatter plot' : 'grid';
  process.stdout.write(`wrote ${out}: ${flags.count} samples of shape [${shape}] from ${from}, a ${size.width}×${size.height} ${kind}\n`);
  return 0;
}
