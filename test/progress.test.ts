/**
 * The progress line's ETA comes from the recent rate, after a warm-up, not
 * from the time since the start: a job whose first step waited 5 s for
 * start-up and then ran 100 steps a second showed ETA 49m55s at step 1.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Progress } from '../src/coordinator/progress.js';
import { killStarted, runCli, tempDir } from './helpers/cli.js';

function terminal() {
  const lines: string[] = [];
  return { lines, out: { isTTY: true, columns: 160, write: (s: string) => (lines.push(s.split('\r\u001b[2K').join('')), true) } };
}

describe('progress ETA', () => {
  it('none during warm-up; then the rate of the recent steps, not of the whole run', () => {
    let now = 0;
    const { lines, out } = terminal();
    const p = new Progress(out, 'job', () => now);
    now = 5000; // start-up: processes, backend, first kernels
    p.update({ step: 1, total: 600, loss: 1, samplesPerSecond: 10 });
    expect(lines.at(-1)).not.toContain('ETA');
    for (let step = 2; step <= 300; step++) {
      now += 10;
      p.update({ step, total: 600, loss: 1, samplesPerSecond: 10 });
      if (step <= 4) expect(lines.at(-1)).not.toContain('ETA');
    }
    // 300 steps left at 100 a second: 3 s (from the start, 7.99 s for 300 steps would say 8 s).
    expect(lines.at(-1)).toMatch(/ETA 3s$/);
  });

  it('follows a change of pace within its window', () => {
    let now = 0;
    const { lines, out } = terminal();
    const p = new Progress(out, 'job', () => now);
    for (let step = 1; step <= 100; step++) {
      now += 1000; // 1 step a second for 100 s
      p.update({ step, total: 400, loss: 1, samplesPerSecond: 1 });
    }
    expect(lines.at(-1)).toMatch(/ETA 5m00s$/);
    for (let step = 101; step <= 300; step++) {
      now += 100; // then 10 a second for 20 s
      p.update({ step, total: 400, loss: 1, samplesPerSecond: 10 });
    }
    expect(lines.at(-1)).toMatch(/ETA 10s$/);
  });

  it('names the unit and every loss it is given (a GAN: iterations, both networks)', () => {
    const { lines, out } = terminal();
    const p = new Progress(out, 'gan');
    p.update({ step: 3, total: 300, unit: 'iteration', loss: 1.2, losses: { D: 1.2, G: 0.75 }, samplesPerSecond: 50 });
    expect(lines.at(-1)).toContain('iteration 3/300  D loss 1.2000  G loss 0.7500  50 samples/s');
  });
});

describe('a GAN run shows iterations and both losses', () => {
  const tmp = tempDir();
  afterAll(() => {
    killStarted();
    tmp.cleanup();
  });

  it('train.maxSteps 30 of a dSteps-1 GAN: iteration 30/30 (it said step 60/60, loss being D\'s alone)', async () => {
    const out = join(tmp.dir, 'gan');
    const r = await runCli(['run', 'configs/gan-ring8.yaml', '--workers', '1', '--set', 'train.maxSteps=30', '--set', 'gan.dSteps=1', '--set', 'gan.sampleEvery=0', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // stderr is a pipe: a plain line every 5 s and at the end.
    expect(r.stderr).toMatch(/iteration 30\/30 {2}D loss \d+\.\d{4} {2}G loss \d+\.\d{4} {2}\d+ samples\/s/);
    expect(r.stderr).not.toMatch(/step \d+\/60/);
  });
});
