/**
 * `npm run bench -- observability [--rounds N]`: what watching a job costs.
 * The 2-worker Fashion-MNIST MLP step (configs/fashion-mnist-mlp.yaml's
 * model, b128, ring, wasm, 400 steps), interleaved rounds, medians:
 *   baseline: a metrics line and a TensorBoard record every 10 steps;
 *   everything on: the same, and the Prometheus server (--metrics-port 0)
 *     observing every step's reports.
 * (The TensorBoard record, ~200 bytes appended every 10 steps, is in both:
 * the step windows must start at the same step to compare.)
 * Goal: ≤ 3% of a step.
 */
import { existsSync } from 'node:fs';
import { middle, runStepMs } from './run-step-ms.js';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const STEPS = 400;

const mlp = (logEvery: number) => ({
  name: 'bench-observability',
  seed: 1,
  data: { source: 'fashion-mnist', path: FASHION_MNIST },
  model: { zoo: 'mlp', hidden: [256, 128, 100], activation: 'relu' },
  train: { epochs: 1, maxSteps: STEPS, batchSize: 128, optimizer: { name: 'adam', lr: 0.001 }, logEvery, checkpoint: { epochEnd: false, minutes: 0, keep: 0 } },
  cluster: { workers: 2, strategy: 'ring', backend: 'wasm' },
});

const modes = [
  { name: 'metrics.jsonl and TensorBoard', job: mlp(10), args: ['--insecure'] },
  { name: 'and Prometheus (--metrics-port)', job: mlp(10), args: ['--insecure', '--metrics-port', '0'] },
];

export async function benchObservability(args: string[]): Promise<void> {
  const i = args.indexOf('--rounds');
  const rounds = i >= 0 ? Number(args[i + 1]) : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number ≥ 1');
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  console.log(`step time, Fashion-MNIST MLP 784-256-128-100-10, b128, 2 workers, ring, wasm, ${STEPS} steps; ${rounds} interleaved round(s), medians`);
  const samples = modes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) modes.forEach((m, k) => samples[k].push(runStepMs(m.job, m.args)));
  const base = middle(samples[0]);
  console.log('mode                                       ms/step   samples            ratio');
  modes.forEach((m, k) => {
    const ms = middle(samples[k]);
    console.log(`${m.name.padEnd(41)}  ${ms.toFixed(2).padStart(7)}   ${samples[k].map((v) => v.toFixed(1)).join(' ').padEnd(17)}  ${(ms / base).toFixed(3)}`);
  });
  console.log(`observability costs ${((middle(samples[1]) / base - 1) * 100).toFixed(1)}% of a step (goal ≤ 3%)`);
}
