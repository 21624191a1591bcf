/** The checkpoint store: when one is due, what it writes, that it is never read back half-written, and pruning. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoints, latestCheckpoint, loadLatestCheckpoint, readCheckpoint, type CheckpointSettings } from '../src/coordinator/checkpoints.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { readAllParams } from '../src/tensor/flat.js';
import { makeOptimizer } from '../src/tensor/optimizers/index.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';
import { makeLogger } from '../src/util/log.js';
import { sleep } from './helpers/fake-peer.js';
import { tempDir } from './helpers/cli.js';

let tmp: ReturnType<typeof tempDir> | undefined;
/** Every temp folder a test made (some make two stores). */
const made: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const t of made.splice(0)) t.cleanup();
  tmp = undefined;
});
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const settings = (s: Partial<CheckpointSettings>): CheckpointSettings => ({ minutes: 0, epochEnd: false, keep: 2, ...s });
const newTemp = () => {
  tmp = tempDir();
  made.push(tmp);
  return tmp;
};
const store = (s: Partial<CheckpointSettings>) => {
  return new Checkpoints(newTemp().dir, settings(s), makeLogger({}));
};
const dueSteps = (c: Checkpoints, total: number) => Array.from({ length: total }, (_, i) => i).filter((i) => c.due(i));

const spec = parseJobSpec({ name: 'ck', data: { source: 'synthetic', kind: 'blobs', samples: 200 }, model: { zoo: 'mlp', hidden: [4] } }, 'job');

function model(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 3, inputShape: [2], kernelInitializer: 'glorotUniform' }));
  m.add(tfl.layers.batchNormalization());
  return m;
}

function adamState(n: number) {
  const o = makeOptimizer({ name: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, n);
  o.step(new Float32Array(n), Float32Array.from({ length: n }, (_, i) => i - 2), 0.1);
  return o.stateDict();
}

describe('when a checkpoint is due', () => {
  it('every N steps and at epoch ends, never after the last step, and not before the steps start', () => {
    const c = store({ every: 3, epochEnd: true });
    expect(c.due(2)).toBe(false); // not started: no step loop to hold
    const d = store({ every: 3, epochEnd: true });
    d.start(20, 5);
    // steps are 0-based; a checkpoint after step i holds i + 1 steps
    expect(dueSteps(d, 20).map((i) => i + 1)).toEqual([3, 5, 6, 9, 10, 12, 15, 18]);
  });

  it('by time: once the minutes have passed since the last one', async () => {
    const c = store({ minutes: 0.0005 }); // 30 ms
    c.start(100, 0);
    expect(c.due(0)).toBe(false);
    await sleep(60);
    expect(c.due(1)).toBe(true);
    expect(c.due(0)).toBe(false); // decided once
  });

  it('keep 0 turns them off', () => {
    const c = store({ every: 1, keep: 0 });
    c.start(10, 2);
    expect(dueSteps(c, 10)).toEqual([]);
  });

  it('an interruption makes the next undecided step due, the last one included', () => {
    const c = store({});
    c.start(5, 0);
    expect(c.due(0)).toBe(false);
    c.interrupt(new Error('Ctrl-C'));
    expect(c.due(0)).toBe(false); // already out
    expect(c.due(1)).toBe(true);
    expect(c.stopping?.message).toBe('Ctrl-C');
    const last = store({});
    last.start(5, 0);
    last.interrupt(new Error('x'));
    expect(last.due(4)).toBe(true);
  });
});

describe('writing and reading', () => {
  it('writes the job, the networks (loadable by tfjs), the optimizer states, the loop state and the metrics, atomically', async () => {
    const c = store({ every: 1 });
    writeFileSync(join(tmp!.dir, 'metrics.jsonl'), '{"step":1}\n');
    const m = model();
    const opt = adamState(m.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a! * b!, 1)!, 0));
    const loop = { window: { loss: 1.5, count: 3 } };
    await c.save({ step: 7, spec, networks: { model: m }, optimizers: [opt, null], optimizersAt: 'workers', loop });
    loop.window.count = 99; // the steps go on: the checkpoint keeps what was handed over
    await c.flush();
    const dir = join(tmp!.dir, 'checkpoints', 'step-0000007');
    expect(c.latest).toBe(dir);
    expect(latestCheckpoint(tmp!.dir)).toBe(dir);
    expect(readdirSync(join(tmp!.dir, 'checkpoints'))).toEqual(['step-0000007']); // no temp folder left
    const r = readCheckpoint(dir);
    expect(r.step).toBe(7);
    expect(r.job).toEqual(JSON.parse(JSON.stringify(spec)));
    expect(r.optimizers).toEqual([opt, null]);
    expect(r.loop).toEqual({ window: { loss: 1.5, count: 3 } });
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'job.json', 'metrics.jsonl', 'model', 'optimizers.bin']);
    const loaded = await tfl.loadLayersModel(fileLoadHandler(r.network('model')));
    expect(readAllParams([loaded])).toEqual(readAllParams([m]));
  });

  it('keeps the newest `keep`', async () => {
    const c = store({ every: 1, keep: 2 });
    const m = model();
    for (const step of [10, 20, 30, 40]) await c.save({ step, spec, networks: { model: m }, optimizers: [], optimizersAt: 'workers', loop: {} });
    await c.flush();
    expect(readdirSync(join(tmp!.dir, 'checkpoints')).sort()).toEqual(['step-0000030', 'step-0000040']);
  });

  it('never reads back a half-written checkpoint: temp folders and folders without checkpoint.json are skipped', async () => {
    const c = store({ every: 1 });
    await c.save({ step: 5, spec, networks: { model: model() }, optimizers: [], optimizersAt: 'workers', loop: {} });
    await c.flush();
    const root = join(tmp!.dir, 'checkpoints');
    mkdirSync(join(root, '.tmp-step-0000009-123'));
    mkdirSync(join(root, 'step-0000008')); // as if the machine died before the rename's parent sync
    writeFileSync(join(root, 'step-0000008', 'job.json'), '{}');
    expect(latestCheckpoint(tmp!.dir)).toBe(join(root, 'step-0000005'));
    expect(existsSync(join(root, 'step-0000005', 'checkpoint.json'))).toBe(true);
  });

  it('a run folder with no checkpoints has none to resume from', () => {
    expect(latestCheckpoint(newTemp().dir)).toBeUndefined();
    expect(loadLatestCheckpoint(tmp!.dir)).toEqual({ skipped: [] });
  });

  it('a checkpoint with a damaged or missing file is not read back: the newest whole one is, naming what was passed over', async () => {
    const c = store({ every: 1, keep: 3 });
    const m = model();
    for (const step of [10, 20, 30]) await c.save({ step, spec, networks: { model: m }, optimizers: [adamState(6)], optimizersAt: 'workers', loop: {} });
    await c.flush();
    const root = join(tmp!.dir, 'checkpoints');
    // Untouched, the newest reads back (the check can pass).
    expect(loadLatestCheckpoint(tmp!.dir)).toMatchObject({ checkpoint: { step: 30 }, skipped: [] });
    // One byte of the newest's weights changed, a file of the next one lost.
    const weights = join(root, 'step-0000030', 'model', 'weights.bin');
    const b = readFileSync(weights);
    b[3] ^= 0x40;
    writeFileSync(weights, b);
    rmSync(join(root, 'step-0000020', 'optimizers.bin'));
    expect(() => readCheckpoint(join(root, 'step-0000030'))).toThrow(/model\/weights\.bin is damaged \(\d+ bytes, sha256 [0-9a-f]{12}…; written: \d+ bytes/);
    const r = loadLatestCheckpoint(tmp!.dir);
    expect(r.checkpoint?.step).toBe(10);
    expect(r.skipped.map((s) => [s.dir, s.why])).toEqual([
      [join(root, 'step-0000030'), expect.stringMatching(/weights\.bin is damaged/)],
      [join(root, 'step-0000020'), expect.stringMatching(/optimizers\.bin is missing/)],
    ]);
  });
});
