/**
 * `npm run bench -- syncbn`: step time of the Fashion-MNIST CNN
 * (configs/fashion-mnist-cnn-syncbn.yaml's model, batch 64) with 2 workers,
 * for batch-norm none, local and sync, interleaved three times; prints the
 * medians and the ratio of sync over local (the price of the statistics'
 * collectives: three forward and three backward sums a step).
 */
import { existsSync } from 'node:fs';
import { middle, runStepMs } from './run-step-ms.js';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const STEPS = 80;

const job = (batchNorm: string) => ({
  name: `bench-bn-${batchNorm}`,
  data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 64 * STEPS, testLimit: 100 },
  model: { zoo: 'cnn', conv: [32, 64], kernelSize: 3, dense: [128], dropout: 0.25, batchNorm },
  train: { maxSteps: STEPS, batchSize: 64, optimizer: { name: 'adam', lr: 0.001 }, logEvery: 20 },
  cluster: { workers: 2, backend: 'wasm' },
});

export async function benchSyncbn(): Promise<void> {
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  const kinds = ['none', 'local', 'sync'] as const;
  const ms: Record<string, number[]> = { none: [], local: [], sync: [] };
  for (let i = 0; i < 3; i++) for (const k of kinds) ms[k].push(runStepMs(job(k)));
  const med = Object.fromEntries(kinds.map((k) => [k, middle(ms[k])])) as Record<(typeof kinds)[number], number>;
  console.log('Fashion-MNIST CNN (conv 32-64, dense 128), batch 64 over 2 workers, wasm; ms per step, median of 3 interleaved runs');
  for (const k of kinds) console.log(`  batchNorm ${k.padEnd(5)} ${med[k].toFixed(1).padStart(7)} ms   (runs: ${ms[k].map((v) => v.toFixed(1)).join(', ')})`);
  console.log(`\nSyncBN over local batch-norm: ${(med.sync / med.local).toFixed(2)}×   (local over none: ${(med.local / med.none).toFixed(2)}×)`);
}
