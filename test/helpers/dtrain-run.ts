/** Trains a job with a real `dtrain run` and reads back the weights it saved. */
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { fileLoadHandler } from '../../src/tensor/models/save.js';
import { killStarted, runCli, tempDir, writeJob } from './cli.js';
import { flatWeights } from './reference.js';

/** The relative tolerance of "equals one process". */
export const TOLERANCE = 1e-5;

/**
 * The relative tolerance of webgpu against the cpu backend: GPU kernels sum
 * in another order (parallel reductions, fused multiply-adds), so webgpu is
 * close to one process but not bit-equal.
 */
export const WEBGPU_TOLERANCE = 1e-4;

/** Prints a measured difference, for the record (the closing note and README take their figures from it). */
export function report(what: string, diff: number): void {
  process.stdout.write(`measured: ${what}: relative difference ${diff.toExponential(2)}\n`);
}

/**
 * For a test file of `dtrain run`s checked against in-process references:
 * the references run on the cpu backend; afterwards every process started is
 * killed and the runs' directory removed. Returns that directory.
 */
export function equivalenceRuns(): { dir: string } {
  const tmp = tempDir();
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => {
    killStarted();
    tmp.cleanup();
  });
  return tmp;
}

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
