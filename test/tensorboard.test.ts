/**
 * What a run leaves to look at. TensorBoard event files, read back by a
 * parser written here (test/helpers/tfevents-read.ts), independent of the
 * writer's libraries: a 2-worker run's file holds the file version, then a
 * train/loss point for every metrics.jsonl line with the same value, and the
 * test set's eval/accuracy at every epoch; a GAN's sample pictures are
 * images in it, byte for byte the PNGs in DIR/samples/. The same runs write
 * DIR/plots/*.png and DIR/trace.json, a Chrome trace whose per-worker
 * all-reduce spans are checked against each other and against the steps.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { crc32c, readEvents } from './helpers/tfevents-read.js';
import { readPng } from './helpers/png-read.js';
import { readTrace } from './helpers/trace-read.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

describe('TensorBoard event files', () => {
  it('the independent CRC-32C is the standard one (check value of "123456789")', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });

  it('a 2-worker run: every metrics line as train/* scalars at its step, the evaluation as eval/*', async () => {
    const job = { name: 'tb', seed: 3, data: { source: 'synthetic', kind: 'blobs', samples: 600, features: 4, classes: 3 }, model: { zoo: 'mlp', hidden: [8] }, train: { epochs: 3, batchSize: 40, logEvery: 5 }, cluster: { workers: 2, backend: 'cpu' } };
    const out = join(tmp.dir, 'tb');
    const r = await runCli(['run', writeJob(tmp.dir, 'tb.json', job), '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(join(out, 'tensorboard'));
    expect(files).toEqual([expect.stringMatching(/^events\.out\.tfevents\.\d+\./)]);
    const { version, scalars } = readEvents(join(out, 'tensorboard', files[0]));
    expect(version).toBe('brain.Event:2');
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.length).toBe(9); // 45 steps, a line every 5
    for (const l of lines) {
      const at = (tag: string) => scalars.find((s) => s.step === l.step && s.tag === tag)?.value;
      expect(at('train/loss')).toBe(Math.fround(l.loss));
      expect(at('train/accuracy')).toBe(Math.fround(l.accuracy));
      expect(at('train/lr')).toBe(Math.fround(l.lr));
      expect(at('train/samplesPerSecond')).toBe(Math.fround(l.samplesPerSecond));
      expect(at('train/epoch')).toBeUndefined();
    }
    // An evaluation at every epoch's end (15 steps an epoch), the last being the final one.
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { eval: { loss: number; accuracy: number }; evaluations: { step: number; loss: number; accuracy: number }[] };
    expect(summary.evaluations.map((e) => e.step)).toEqual([15, 30, 45]);
    expect(summary.evaluations.at(-1)).toEqual({ step: 45, ...summary.eval });
    expect(scalars.filter((s) => s.tag.startsWith('eval/'))).toEqual(summary.evaluations.flatMap((e) => [
      { step: e.step, tag: 'eval/loss', value: Math.fround(e.loss) },
      { step: e.step, tag: 'eval/accuracy', value: Math.fround(e.accuracy) },
    ]));
    // The validation curve is the model's: accuracy after the first epoch below the last (blobs with noise 0.5 are learnt fast).
    expect(summary.evaluations[0].loss).toBeGreaterThan(summary.evaluations[2].loss);

    // Each worker's mean step times every 10 steps, against the spans of its timeline below.
    for (const w of [0, 1]) {
      const compute = scalars.filter((s) => s.tag === `worker${w}/computeMs`);
      expect(compute.map((s) => s.step)).toEqual([10, 20, 30, 40]);
      expect(compute.every((s) => s.value > 0)).toBe(true);
      expect(scalars.filter((s) => s.tag === `worker${w}/waitMs`).length).toBe(4);
    }

    // Plots: loss and accuracy against step, train and eval, and throughput.
    for (const name of ['loss.png', 'accuracy.png', 'throughput.png']) expect(readPng(readFileSync(join(out, 'plots', name)))).toMatchObject({ width: 720, height: 440, channels: 3 });
    expect(existsSync(join(out, 'plots', 'losses.png'))).toBe(false);

    // The timeline: the coordinator and one process per worker, named.
    const { names, spans } = readTrace(join(out, 'trace.json'));
    expect(names.get(0)).toBe('coordinator');
    expect(names.get(1)).toMatch(/^worker 0 \(/);
    expect(names.get(2)).toMatch(/^worker 1 \(/);
    const lane = (pid: number, name: string) => (spans.get(pid) ?? []).filter((e) => e.name === name).sort((a, b) => a.ts! - b.ts!);
    for (const pid of [1, 2]) {
      // One forward/backward and one all-reduce of the gradients a step (45 steps); each all-reduce ends after its step's backward pass.
      const fb = lane(pid, 'forward/backward');
      const reduce = lane(pid, 'all-reduce');
      expect(fb.length).toBe(45);
      expect(reduce.length).toBe(45);
      expect(lane(pid, 'optimizer').length).toBe(45);
      expect(lane(pid, 'evaluation').length).toBe(3);
      reduce.forEach((r, i) => expect(r.ts! + r.dur!).toBeGreaterThanOrEqual(fb[i].ts! + fb[i].dur!));
    }
    // Both workers take part in every all-reduce: the k-th spans of the two overlap in time (same host, same clock).
    const [r0, r1] = [lane(1, 'all-reduce'), lane(2, 'all-reduce')];
    r0.forEach((a, k) => {
      const b = r1[k];
      expect(Math.max(a.ts!, b.ts!), `all-reduce ${k}`).toBeLessThanOrEqual(Math.min(a.ts! + a.dur!, b.ts! + b.dur!) + 1000);
    });
    expect(lane(0, 'scheduling').length).toBeGreaterThan(0);
    expect(lane(0, 'evaluation').length).toBe(3);

    // Independently: a run stopped after 15 steps evaluates its model at the end, and gets what the periodic evaluation got.
    const short = join(tmp.dir, 'tb-15');
    const r15 = await runCli(['run', writeJob(tmp.dir, 'tb15.json', { ...job, train: { ...job.train, maxSteps: 15, evalEvery: 0 } }), '--out', short, '--no-progress']);
    expect(r15.code, r15.stderr).toBe(0);
    const s15 = JSON.parse(readFileSync(join(short, 'summary.json'), 'utf8')) as { eval: { loss: number; accuracy: number }; evaluations: { step: number }[] };
    expect(s15.evaluations.map((e) => e.step)).toEqual([15]); // evalEvery 0: only the final one
    expect(summary.evaluations[0].loss).toBeCloseTo(s15.eval.loss, 6);
    expect(summary.evaluations[0].accuracy).toBe(s15.eval.accuracy);
  });

  it('data.validation: the periodic evaluations read the held-out validation split (validation/*), the final one the test split (eval/*)', async () => {
    const job = { name: 'tb-val', seed: 3, data: { source: 'synthetic', kind: 'blobs', samples: 750, features: 4, classes: 3, validation: 0.2 }, model: { zoo: 'mlp', hidden: [8] }, train: { epochs: 3, batchSize: 40, logEvery: 5 }, cluster: { workers: 2, backend: 'cpu' } };
    const out = join(tmp.dir, 'tb-val');
    const r = await runCli(['run', writeJob(tmp.dir, 'tb-val.json', job), '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    // 600 samples left for training: 15 steps an epoch, as the 600-sample run above.
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { steps: number; evaluations: { step: number; split?: string; loss: number }[]; eval: { loss: number } };
    expect(summary.steps).toBe(45);
    expect(summary.evaluations.map((e) => [e.step, e.split ?? 'test'])).toEqual([
      [15, 'validation'],
      [30, 'validation'],
      [45, 'test'],
    ]);
    const files = readdirSync(join(out, 'tensorboard'));
    const { scalars } = readEvents(join(out, 'tensorboard', files[0]));
    expect(scalars.filter((s) => s.tag === 'validation/loss').map((s) => [s.step, s.value])).toEqual(summary.evaluations.slice(0, 2).map((e) => [e.step, Math.fround(e.loss)]));
    expect(scalars.filter((s) => s.tag === 'eval/loss').map((s) => [s.step, s.value])).toEqual([[45, Math.fround(summary.eval.loss)]]);
    expect(readPng(readFileSync(join(out, 'plots', 'loss.png'))).width).toBe(720);
  });

  it('a GAN run: its sample pictures are images in the event file, byte for byte its PNGs; D and G losses are plotted', async () => {
    const ring = { name: 'tb-gan', type: 'gan', data: { source: 'synthetic', kind: 'ring8', samples: 400 }, generator: { zoo: 'mlp', hidden: [8] }, discriminator: { zoo: 'mlp', hidden: [8] }, gan: { sampleEvery: 2 }, train: { batchSize: 40, maxSteps: 12, logEvery: 1 }, cluster: { workers: 2, backend: 'cpu' } };
    const out = join(tmp.dir, 'tb-gan');
    const r = await runCli(['run', writeJob(tmp.dir, 'tb-gan.json', ring), '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { gan: { pictures: string[] } };
    const files = readdirSync(join(out, 'tensorboard'));
    const { images, scalars } = readEvents(join(out, 'tensorboard', files[0]));
    // One image a picture (every 2 iterations but the last, and the final one), under the tag samples.
    expect(images.length).toBe(summary.gan.pictures.length);
    expect(images.length).toBeGreaterThan(1);
    images.forEach((img, i) => {
      expect(img.tag).toBe('samples');
      expect(img.png.equals(readFileSync(join(out, summary.gan.pictures[i])))).toBe(true);
      const png = readPng(img.png);
      expect([img.width, img.height, img.colorspace]).toEqual([png.width, png.height, png.channels]);
    });
    expect(images.map((i) => i.step)).toEqual([...images.map((i) => i.step)].sort((a, b) => a - b));
    expect(scalars.some((s) => s.tag === 'train/dLoss') && scalars.some((s) => s.tag === 'train/gLoss')).toBe(true);
    expect(readPng(readFileSync(join(out, 'plots', 'losses.png')))).toMatchObject({ width: 720, height: 440 });
  });
});
