/** Backend choice as a user meets it: `dtrain backends`, and asking for a backend that is not installed. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

// tfjs-node cannot be installed on the build machine (its install downloads libtensorflow).
const tfjsNodeInstalled = existsSync(new URL('../node_modules/@tensorflow/tfjs-node', import.meta.url));

describe('backends', () => {
  it('dtrain backends lists each backend with a speed probe and says what auto picks', async () => {
    const r = await runCli(['backends', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { backends: { backend: string; available: boolean; gflops?: number }[]; auto: { name: string; reason: string } };
    const by = Object.fromEntries(out.backends.map((b) => [b.backend, b]));
    expect(Object.keys(by).sort()).toEqual(['cpu', 'tensorflow', 'wasm', 'webgpu']);
    expect(by.wasm.available && by.cpu.available).toBe(true);
    expect(by.wasm.gflops).toBeGreaterThan(0);
    expect(by.cpu.gflops).toBeGreaterThan(0);
    // dtrain's wasm multiplies matrices several times faster than the cpu backend; auto must know.
    expect(by.wasm.gflops!).toBeGreaterThan(by.cpu.gflops!);
    if (!tfjsNodeInstalled) expect(out.auto).toMatchObject({ name: 'wasm', reason: expect.stringMatching(/tfjs-node is not installed/) });
    const table = await runCli(['backends']);
    expect(table.stdout).toMatch(/^wasm\s+yes\s+[\d.]+/m);
    expect(table.stdout).toMatch(/backend: auto → /);
  });

  it.skipIf(tfjsNodeInstalled)('asking dtrain run for tensorflow without tfjs-node is an error before anything starts (exit 2)', async () => {
    const job = writeJob(tmp.dir, 'tf.yaml', 'name: tf\ndata: { source: synthetic, kind: blobs, samples: 100 }\nmodel: { zoo: mlp, hidden: [4] }\ntrain: { batchSize: 10 }\n');
    const out = join(tmp.dir, 'out');
    const r = await runCli(['run', job, '--backend', 'tensorflow', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backend "tensorflow" needs @tensorflow\/tfjs-node .*npm install @tensorflow\/tfjs-node/);
    expect(existsSync(out)).toBe(false);
  });
});
