/** Trains a job with a real `dtrain run` and reads back the weights it saved. */
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import { fileLoadHandler } from '../../src/shared/models/save.js';
import { runCli, writeJob } from './cli.js';
import { flatWeights } from './reference.js';

export async function savedWeights(out: string): Promise<Float32Array> {
  return flatWeights(await savedModel(out));
}

export function savedModel(out: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(fileLoadHandler(join(out, 'model')));
}

/** Runs `job` in `dir` under the name `tag` with extra flags; expects success and returns the saved weights. */
export async function dtrainRun(dir: string, job: Record<string, unknown>, flags: string[], tag: string): Promise<Float32Array> {
  const file = writeJob(dir, `${tag}.json`, job);
  const out = join(dir, tag);
  const r = await runCli(['run', file, ...flags, '--out', out, '--no-progress']);
  expect(r.stderr, r.stderr).not.toMatch(/dtrain: /);
  expect(r.code).toBe(0);
  return savedWeights(out);
}
