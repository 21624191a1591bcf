/**
 * `npm run bench -- gpu [--rounds 3] [--gpu 0] [--steps 200] [--json]`:
 * webgpu against PyTorch on the same GPU, and workers sharing that GPU.
 *
 * 1. One training step of the compute benchmark's MLP (b128) and CNN (b64)
 *    in a plain loop (forward, backward, SGD, the loss read back): dtrain's
 *    wasm on the CPU, tfjs webgpu (bench/compute-child.ts) and PyTorch on
 *    CUDA (bench/torch-step.py, where python3 has torch and a GPU), medians
 *    of interleaved rounds, with webgpu / PyTorch.
 * 2. `dtrain run` of configs/fashion-mnist-mlp.yaml's model on webgpu with 1,
 *    2 and 4 workers on one GPU (cluster.gpus [g]) at the same global batch:
 *    steady-state ms a step and the ratio of samples/s to 1 worker.
 *
 * Without a GPU, webgpu runs in software (the figures then say nothing of
 * GPUs) and the GPU index is not passed; bench/gpu-check.sh runs this on a
 * GPU machine. FASHION_MNIST names another copy of the data set.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { flag } from './args.js';
import { middle, roundsOf, runStepMs } from './run-step-ms.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./compute-child.js', import.meta.url));
const TORCH = fileURLToPath(new URL('../../bench/torch-step.py', import.meta.url));
const DATA = process.env.FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';

interface Measured {
  ms?: number;
  error?: string;
  adapter?: string;
  device?: string;
}

async function jsonLine(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  try {
    const { stdout } = await run(cmd, args, { env, maxBuffer: 1 << 22 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Measured;
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : ms.toFixed(2));

export async function benchGpu(args: string[]): Promise<void> {
  const rounds = roundsOf(args);
  const json = args.includes('--json');
  const gpu = flag(args, '--gpu');
  const steps = Number(flag(args, '--steps', '200'));
  const childEnv = { ...process.env, ...(gpu === undefined ? {} : { DTRAIN_BENCH_GPU: gpu }) };

  // 1. Plain step times, interleaved.
  const loops = { mlp: 100, cnn: 30 } as const;
  const rows: { model: string; wasm: number[]; webgpu: number[]; torch: number[]; adapter?: string; device?: string; torchError?: string; webgpuError?: string }[] = [];
  for (const model of ['mlp', 'cnn'] as const) {
    const row: (typeof rows)[number] = { model, wasm: [], webgpu: [], torch: [] };
    for (let r = 0; r < rounds; r++) {
      const w = await jsonLine(process.execPath, [CHILD, 'wasm-dtrain', model, String(loops[model])]);
      const g = await jsonLine(process.execPath, [CHILD, 'webgpu', model, String(loops[model]), '5'], childEnv);
      const t = await jsonLine('python3', [TORCH, model, String(loops[model] * 5), '10']);
      if (w.ms !== undefined) row.wasm.push(w.ms);
      if (g.ms !== undefined) row.webgpu.push(g.ms);
      else row.webgpuError = g.error;
      if (t.ms !== undefined) row.torch.push(t.ms);
      else row.torchError = t.error;
      row.adapter ??= g.adapter;
      row.device ??= t.device;
    }
    rows.push(row);
  }
  const med = (v: number[]) => (v.length > 0 ? middle(v) : undefined);
  const stepRows = rows.map((r) => {
    const [wasm, webgpu, torch] = [med(r.wasm), med(r.webgpu), med(r.torch)];
    return { model: r.model, wasmMs: wasm, webgpuMs: webgpu, torchMs: torch, webgpuOverTorch: webgpu !== undefined && torch !== undefined ? webgpu / torch : undefined, adapter: r.adapter, device: r.device, torchError: r.torchError, webgpuError: r.webgpuError };
  });

  // 2. Workers sharing the GPU: dtrain run on webgpu, the quick-start MLP.
  const mlp = parse(readFileSync(fileURLToPath(new URL('../../configs/fashion-mnist-mlp.yaml', import.meta.url)), 'utf8')) as { model: Record<string, unknown> };
  const job = (workers: number) => ({
    name: 'bench-gpu-share',
    seed: 1,
    data: { source: 'fashion-mnist', path: DATA },
    model: mlp.model,
    train: { epochs: 20, maxSteps: steps, batchSize: 128, optimizer: { name: 'adam', lr: 0.001 }, logEvery: 10, checkpoint: { epochEnd: false, minutes: 0, keep: 0 } },
    cluster: { workers, backend: 'webgpu', ...(gpu === undefined ? {} : { gpus: [Number(gpu)] }) },
  });
  const counts = [1, 2, 4];
  const shared = counts.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) counts.forEach((n, k) => shared[k].push(runStepMs(job(n))));
  const shareRows = counts.map((n, k) => ({ workers: n, ms: middle(shared[k]), samplesPerSecond: 128000 / middle(shared[k]), ratio: middle(shared[0]) / middle(shared[k]) }));

  if (json) {
    for (const r of stepRows) process.stdout.write(`${JSON.stringify({ kind: 'step', ...r })}\n`);
    for (const r of shareRows) process.stdout.write(`${JSON.stringify({ kind: 'share', ...r })}\n`);
    return;
  }
  const where = stepRows[0].adapter ?? 'no adapter';
  process.stdout.write(`plain training step, ms (medians of ${rounds} interleaved rounds); webgpu on ${where}; PyTorch on ${stepRows[0].device ?? stepRows[0].torchError ?? '-'}\n`);
  process.stdout.write('model                      wasm (CPU)   webgpu   PyTorch   webgpu / PyTorch\n');
  for (const r of stepRows) {
    const label = r.model === 'mlp' ? 'MLP 784-256-256-10, b128' : 'CNN fashion-mnist, b64';
    process.stdout.write(`${label.padEnd(26)} ${fmt(r.wasmMs).padStart(10)} ${fmt(r.webgpuMs).padStart(8)} ${fmt(r.torchMs).padStart(9)}   ${r.webgpuOverTorch === undefined ? '-' : `${r.webgpuOverTorch.toFixed(2)}×`}${r.webgpuError ? `  (webgpu: ${r.webgpuError})` : ''}\n`);
  }
  process.stdout.write(`\ndtrain run, quick-start MLP b128, ${steps} steps, webgpu, workers sharing ${gpu === undefined ? 'the adapter' : `GPU ${gpu}`}\n`);
  process.stdout.write('workers   ms/step   samples/s   vs 1 worker\n');
  for (const r of shareRows) process.stdout.write(`${String(r.workers).padEnd(9)} ${r.ms.toFixed(2).padStart(7)} ${r.samplesPerSecond.toFixed(0).padStart(11)}   ${r.ratio.toFixed(2)}×\n`);
}
