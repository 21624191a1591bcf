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
import { compareStepTimes, roundsOf } from './run-step-ms.js';

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
  const rounds = roundsOf(args);
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  console.log(`step time, Fashion-MNIST MLP 784-256-128-100-10, b128, 2 workers, ring, wasm, ${STEPS} steps; ${rounds} interleaved round(s), medians`);
  const medians = compareStepTimes(modes, rounds);
  console.log(`observability costs ${((medians[1] / medians[0] - 1) * 100).toFixed(1)}% of a step (goal ≤ 3%)`);
}
