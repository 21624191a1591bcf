/** `dtrain backends`: which tfjs backends are installed here, how fast each multiplies matrices, and what `auto` picks. */
import * as tf from '@tensorflow/tfjs-core';
import { activate, initBackend, installedNodeBackend } from '../tensor/backend.js';

const N = 256;
const PROBE_MS = 300;

/**
 * GFLOP/s of N×N×N matrix products (read back each time) over about PROBE_MS.
 * The tidy returns nothing: tf.tidy walks a returned typed array element by
 * element looking for tensors, which alone costs more than the product.
 */
function probe(): number {
  const a = tf.randomNormal([N, N]);
  const b = tf.randomNormal([N, N]);
  const product = () => tf.tidy(() => void tf.matMul(a, b).dataSync());
  product(); // warm-up: kernels compiled, memory allocated
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < PROBE_MS) {
    product();
    reps++;
  }
  const ms = (performance.now() - t0) / reps;
  tf.dispose([a, b]);
  return (2 * N ** 3) / ms / 1e6;
}

export async function backendsCommand(flags: { json?: boolean }): Promise<number> {
  const node = await installedNodeBackend();
  const rows: { backend: string; available: boolean; gflops?: number; note: string }[] = [];
  for (const name of ['tensorflow', 'wasm', 'cpu']) {
    if (name === 'tensorflow' && !node) {
      rows.push({ backend: name, available: false, note: 'npm install @tensorflow/tfjs-node (or -gpu with CUDA)' });
      continue;
    }
    const ok = await activate(name);
    const note = name === 'tensorflow' ? `${node}` : name === 'wasm' ? 'with dtrain training kernels' : 'plain JavaScript';
    rows.push({ backend: name, available: ok, gflops: ok ? probe() : undefined, note: ok ? note : 'failed to start' });
  }
  const auto = await initBackend('auto');
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ backends: rows, auto })}\n`);
    return 0;
  }
  process.stdout.write(`backend      available  GFLOP/s (${N}×${N} matmul)  note\n`);
  for (const r of rows) {
    process.stdout.write(`${r.backend.padEnd(12)} ${(r.available ? 'yes' : 'no').padEnd(10)} ${(r.gflops === undefined ? '-' : r.gflops.toFixed(1)).padStart(8)}                ${r.note}\n`);
  }
  process.stdout.write(`backend: auto → ${auto.name} (${auto.reason})\n`);
  return 0;
}
