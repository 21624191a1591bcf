/**
 * A seq2seq job through a real `dtrain run`: a coordinator and 2 worker
 * processes on the ring, a few steps; summary.json's eval holds beam
 * search's and greedy decoding's scores, attention.png has the size its
 * layout gives, checkpoints are taken, the saved network loads, and the closing
 * lines report both decodings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it } from 'vitest';
import { Seq2seqAttention } from '../src/jobs/seq2seq/layer.js';
import { fileLoadHandler } from '../src/tensor/models/save.js';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { readPng } from './helpers/png-read.js';
import { checkpointsOf } from './helpers/runs.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const job = {
  name: 's2s-run',
  type: 'seq2seq',
  seed: 2,
  data: { task: 'reverse', vocab: 6, minLength: 2, maxLength: 5, train: 300, test: 45 },
  model: { cell: 'gru', units: 16, embedding: 8, attention: 'additive' },
  train: { batchSize: 30, maxSteps: 6, optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1, logEvery: 3, evalEvery: 3, checkpoint: { every: 3 } },
  eval: { beamWidth: 3, pictures: 3 },
  cluster: { workers: 2 },
};

describe('dtrain run of a seq2seq job', () => {
  it('trains on 2 workers, decodes the test set both ways, draws attention.png and saves the network', async () => {
    const out = join(tmp.dir, 'run');
    const r = await runCli(['run', writeJob(tmp.dir, 'job.json', job), '--out', out, '--no-progress']);
    expect(r.stderr, r.stderr).not.toMatch(/dtrain: /);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'succeeded', workers: 2, steps: 6, backend: 'wasm', eval: { beamWidth: 3 }, seq2seq: { task: 'reverse', picture: 'attention.png' } });
    for (const score of [summary.eval.exactMatch, summary.eval.tokenAccuracy, summary.eval.greedy.exactMatch, summary.eval.greedy.tokenAccuracy]) {
      expect(typeof score).toBe('number');
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    expect(summary.eval.loss).toBeGreaterThan(0);
    expect(summary.seq2seq.examples).toHaveLength(3);
    // train.evalEvery 3: the test set decoded after step 3 too; the last evaluation is summary.json's eval.
    expect(summary.evaluations.map((e: { step: number }) => e.step)).toEqual([3, 6]);
    expect(summary.evaluations[1]).toMatchObject({ exactMatch: summary.eval.exactMatch, greedyExactMatch: summary.eval.greedy.exactMatch });
    // The layout: 8 + 3 panels · (16 + 5 · 16 + 8) wide, 8 + 2 · 16 + 16 + 6 · 16 + 8 high.
    const png = readPng(readFileSync(join(out, 'attention.png')));
    expect([png.width, png.height, png.channels]).toEqual([320, 160, 3]);
    expect(checkpointsOf(out).length).toBeGreaterThan(0);
    const model = await tfl.loadLayersModel(fileLoadHandler(join(out, 'model')));
    expect(model.layers[0]).toBeInstanceOf(Seq2seqAttention);
    expect(r.stdout + r.stderr).toMatch(/beam search \(width 3\): exact match [\d.]+%\s+token accuracy [\d.]+%/);
    expect(r.stdout + r.stderr).toMatch(/greedy decoding: +exact match/);
    expect(r.stdout + r.stderr).toMatch(/attention\.png/);
  });
});
