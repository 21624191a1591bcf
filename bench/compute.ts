/**
 * `npm run bench -- compute`: training-step time and achieved GFLOP/s of the
 * MLP 784-256-256-10 (batch 128), the Fashion-MNIST CNN (batch 64) and the
 * LSTM of configs/fashion-mnist-lstm.yaml (batch 64) and the ViT of
 * configs/fashion-mnist-vit.yaml (batch 64; plain tfjs with tfjs-layers'
 * own layer norm) on the
 * cpu backend, plain tfjs wasm and dtrain's wasm, each in a fresh process,
 * with the ratios; then the 1-worker `dtrain run` step time against the plain
 * loop on the same backend (orchestration overhead). FLOPs: 3 × forward.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { middle, runStepMs } from './run-step-ms.js';

const CHILD = fileURLToPath(new URL('./compute-child.js', import.meta.url));
type Result = { ms: number; gflops: number } | { error: string };

function measure(variant: string, model: string, steps: number, warmup = 2): Result {
  const out = execFileSync(process.execPath, [CHILD, variant, model, String(steps), String(warmup)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

/** The median of `n` runs by time (this machine is shared: single samples vary by ±25%). */
function median<T>(n: number, run: () => T, key: (t: T) => number): T {
  const all = Array.from({ length: n }, run).sort((a, b) => key(a) - key(b));
  return all[Math.floor(n / 2)];
}
const msOf = (r: Result) => ('error' in r ? Infinity : r.ms);

const fmt = (r: Result) => ('error' in r ? 'cannot train'.padStart(22) : `${r.ms.toFixed(1).padStart(8)} ms ${r.gflops.toFixed(2).padStart(7)} GF/s`);
const ratio = (a: Result, b: Result) => ('error' in a || 'error' in b ? '-' : `${(b.ms / a.ms).toFixed(1)}×`);

/** Steady-state ms per step of a 1-worker `dtrain run` of the MLP. */
function dtrainStepMs(steps: number): number {
  return runStepMs({
    name: 'bench-overhead',
    data: { source: 'synthetic', kind: 'blobs', samples: 128 * steps, features: 784, classes: 10 },
    model: { zoo: 'mlp', hidden: [256, 256] },
    train: { maxSteps: steps, batchSize: 128, optimizer: { name: 'sgd', lr: 0.01 }, logEvery: 50 },
    cluster: { workers: 1, backend: 'wasm' },
  });
}

export async function benchCompute(): Promise<void> {
  console.log('training step (forward + backward + SGD), each backend in a fresh process; FLOPs = 3 × forward');
  console.log('model                       cpu                       tfjs wasm                 dtrain wasm           dtrain/tfjs wasm  dtrain/cpu');
  for (const [model, label, steps] of [['mlp', 'MLP 784-256-256-10, b128', 60], ['cnn', 'CNN fashion-mnist, b64', 10], ['lstm', 'LSTM-128 on 28 rows, b64', 10], ['vit', 'ViT 16×64, 2 blocks, b64', 10]] as const) {
    // The cpu backend needs no warm-up to speak of, and its CNN step takes half a minute.
    const cpu = model === 'mlp' ? measure('cpu', model, 5, 1) : measure('cpu', model, 1, 0);
    const plain = median(3, () => measure('wasm-plain', model, steps), msOf);
    const ours = median(3, () => measure('wasm-dtrain', model, steps), msOf);
    console.log(`${label.padEnd(26)} ${fmt(cpu)}    ${fmt(plain)}    ${fmt(ours)}    ${ratio(ours, plain).padStart(12)}  ${ratio(ours, cpu).padStart(10)}`);
  }
  // Interleaved, so that both see the same machine; medians of three.
  const plains: number[] = [];
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    plains.push(msOf(measure('wasm-dtrain', 'mlp', 200)));
    runs.push(dtrainStepMs(300));
  }
  const [plainMs, runMs] = [middle(plains), middle(runs)];
  console.log(`\norchestration overhead, MLP on wasm: 1-worker dtrain run ${runMs.toFixed(2)} ms/step (steady state) vs plain tfjs loop ${plainMs.toFixed(2)} ms/step: ratio ${(runMs / plainMs).toFixed(2)} (goal ≤ 1.05)`);
}
