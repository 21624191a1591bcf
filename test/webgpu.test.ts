/**
 * backend: webgpu as a user meets it: `dtrain backends`, a run's log and
 * summary.json naming the adapter, GPU indices (--gpus) and their errors.
 * This machine has no GPU: webgpu runs on Mesa's software OpenGL ES
 * (llvmpipe), which `.ci/run` installs. That it trains like one process is
 * checked in the equivalence tests (MLP, synchronized batch-norm, GAN, PGD).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { vulkanAdapters } from '../src/tensor/webgpu/adapter.js';
import { adapterLabel } from '../src/tensor/webgpu/start.js';
import { cudaDevice } from '../src/commands/gpu-env.js';
import { FASHION_MNIST, killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';
import { report, savedWeights, WEBGPU_TOLERANCE } from './helpers/dtrain-run.js';
import { relativeDiff } from './helpers/reference.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const job = { name: 'gpu', seed: 2, data: { source: 'synthetic', kind: 'blobs', samples: 240, features: 5, classes: 3 }, model: { zoo: 'mlp', hidden: [8] }, train: { epochs: 1, batchSize: 40 } };
const logLines = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('backend: webgpu', () => {
  it('dtrain backends lists webgpu with its adapter and a speed probe; auto says why it keeps wasm on a machine without a GPU', async () => {
    const r = await runCli(['backends', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { backends: { backend: string; available: boolean; gflops?: number; adapter?: string }[]; auto: { name: string; reason: string } };
    const webgpu = out.backends.find((b) => b.backend === 'webgpu')!;
    expect(webgpu).toMatchObject({ available: true, adapter: expect.stringMatching(/\(opengles, software\)$/) });
    expect(webgpu.gflops).toBeGreaterThan(0);
    expect(out.auto).toMatchObject({ name: 'wasm', reason: expect.stringMatching(/no GPU is reachable through webgpu/) });
    const table = await runCli(['backends']);
    expect(table.stdout).toMatch(/^webgpu\s+yes\s+[\d.]+\s+adapter .*software/m);
  });

  it('dtrain run --backend webgpu --workers 2: a 25-step Fashion-MNIST MLP ends within 1e-4 of the same run on cpu, and names its adapter in the progress, each worker log line and summary.json', async () => {
    const mlp = { name: 'gpu-mlp', seed: 4, data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 2000, testLimit: 300 }, model: { zoo: 'mlp', hidden: [64, 32], dropout: 0.1 }, train: { epochs: 1, maxSteps: 25, batchSize: 64, optimizer: { name: 'adam', lr: 0.003 }, clipNorm: 1 } };
    const file = writeJob(tmp.dir, 'mlp.json', mlp);
    const out = join(tmp.dir, 'run');
    const r = await runCli(['run', file, '--backend', 'webgpu', '--workers', '2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/backend: webgpu \(requested; adapter .*\(opengles, software\)\)/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'succeeded', steps: 25, backend: 'webgpu', adapter: expect.stringMatching(/opengles, software/) });
    const started = logLines(out).filter((l) => l.msg === 'job started');
    expect(started.map((l) => [l.backend, l.adapter])).toEqual([
      ['webgpu', summary.adapter],
      ['webgpu', summary.adapter],
    ]);
    const cpu = join(tmp.dir, 'run-cpu');
    expect((await runCli(['run', file, '--backend', 'cpu', '--workers', '2', '--out', cpu, '--no-progress'])).code).toBe(0);
    const [gpuWeights, cpuWeights] = await Promise.all([savedWeights(out), savedWeights(cpu)]);
    const diff = relativeDiff(gpuWeights, cpuWeights);
    report('webgpu MLP, 25 steps, 2 workers vs the same run on cpu', diff);
    expect(diff).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
    // The comparison can fail: another seed's run is far off.
    const other = join(tmp.dir, 'run-other');
    expect((await runCli(['run', file, '--backend', 'cpu', '--workers', '2', '--set', 'seed=5', '--out', other, '--no-progress'])).code).toBe(0);
    expect(relativeDiff(await savedWeights(other), cpuWeights)).toBeGreaterThan(100 * WEBGPU_TOLERANCE);
  });

  it('--gpus 0,1 starts one worker per GPU index, each told its index (CUDA_VISIBLE_DEVICES for tfjs-node-gpu)', async () => {
    const out = join(tmp.dir, 'gpus');
    const r = await runCli(['run', writeJob(tmp.dir, 'gpus.json', job), '--backend', 'cpu', '--gpus', '0,1', '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ workers: 2 });
    const started = logLines(out).filter((l) => l.msg === 'job started');
    expect(started.map((l) => [l.gpu, l.cudaVisibleDevices]).sort()).toEqual([
      [0, '0'],
      [1, '1'],
    ]);
  });

  it("CUDA_VISIBLE_DEVICES: a scheduler's list is indexed, not overridden; the order is the PCI bus's", () => {
    expect(cudaDevice(1, {})).toEqual({ CUDA_VISIBLE_DEVICES: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' });
    expect(cudaDevice(1, { CUDA_VISIBLE_DEVICES: '4,5' })).toEqual({ CUDA_VISIBLE_DEVICES: '5', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' });
    expect(cudaDevice(0, { CUDA_VISIBLE_DEVICES: 'GPU-aa, GPU-bb', CUDA_DEVICE_ORDER: 'FASTEST_FIRST' })).toEqual({ CUDA_VISIBLE_DEVICES: 'GPU-aa', CUDA_DEVICE_ORDER: 'FASTEST_FIRST' });
  });

  it('the adapter label says which GPU dawn.node took when it is not the one asked for (GPUs of one name)', () => {
    expect(adapterLabel({ name: 'NVIDIA H200', description: '', api: 'vulkan', software: false, index: 0 })).toBe('NVIDIA H200 (vulkan, GPU 0)');
    expect(adapterLabel({ name: 'NVIDIA H200', description: '', api: 'vulkan', software: false, index: 0, asked: 1 })).toMatch(/GPU 0 although GPU 1 was asked for/);
  });

  it('a GPU index on a machine whose Vulkan lists no GPU is an error before anything starts (exit 2), naming the index', async () => {
    const out = join(tmp.dir, 'nogpu');
    const r = await runCli(['run', writeJob(tmp.dir, 'nogpu.json', job), '--backend', 'webgpu', '--gpus', '1', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/webgpu: GPU 1 was asked for .*no such GPU is reachable through Vulkan/);
    expect(existsSync(out)).toBe(false);
  });

  it('--gpus takes distinct indices separated by commas', async () => {
    for (const [value, message] of [
      ['a,b', /--gpus takes GPU indices separated by commas/],
      ['0,,1', /--gpus takes GPU indices/],
      ['-1', /--gpus takes GPU indices/],
      ['0,0', /--gpus names a GPU twice/],
    ] as const) {
      const r = await runCli(['run', 'job.yaml', '--gpus', value]);
      expect(r.code, value).toBe(2);
      expect(r.stderr, value).toMatch(message);
    }
  });

  it("reads dawn.node's list of adapters, telling GPUs from software rasterizers", async () => {
    const listing = "no adapter with backend 'vulkan' and name 'x' found\nAvailable adapters:\n * backend: 'vulkan', name: 'NVIDIA H200'\n * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'\n * backend: 'opengles', name: 'ANGLE'";
    const dawn = { globals: {}, create: () => ({ requestAdapter: () => Promise.reject(new Error(listing)) }) as unknown as GPU };
    expect(await vulkanAdapters(dawn)).toEqual([
      { name: 'NVIDIA H200', software: false },
      { name: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true },
    ]);
    // A dawn.node whose message changed lists nothing, so no GPU index is taken for another.
    const silent = { globals: {}, create: () => ({ requestAdapter: () => Promise.reject(new Error('no adapters')) }) as unknown as GPU };
    expect(await vulkanAdapters(silent)).toEqual([]);
  });
});
