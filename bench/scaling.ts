/**
 * `npm run bench -- scaling [--rounds 3] [--model mlp|cnn]`: strong and weak
 * scaling of `dtrain run` on this machine. For the quick-start MLP
 * (configs/fashion-mnist-mlp.yaml's model, b128) and the CNN
 * (configs/fashion-mnist-cnn.yaml's, b64), on wasm: 1 worker, 2 workers at
 * the same global batch (strong), 2 workers with the batch doubled (weak),
 * and the strong case over the TCP ring (cluster.transport tcp: what the
 * workers did before they summed through shared memory on one machine);
 * rounds interleave the three; medians of steady-state samples/s (first
 * metrics line to last), with the ratio against 1 worker, and where the
 * 2-worker step's time went: the slowest worker's compute (forward,
 * backward, packing) and collective (all-reduce, thread hops, the
 * optimizer, waiting for the slower worker), and the compute spread.
 * Then the bound this machine sets: forward and backward alone (no
 * optimizer, no communication) in one process at the whole batch against
 * two processes side by side at half of it each, measured in the same
 * run — strong scaling cannot beat that ratio here.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { flag } from './args.js';
import { middle, roundsOf, runStepProfile, type StepProfile } from './run-step-ms.js';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const config = (name: string) => parse(readFileSync(fileURLToPath(new URL(`../../configs/${name}.yaml`, import.meta.url)), 'utf8')) as { model: Record<string, unknown>; train: { batchSize: number } };

const MODELS = {
  mlp: { file: 'fashion-mnist-mlp', steps: 400, boundSteps: 300 },
  cnn: { file: 'fashion-mnist-cnn', steps: 120, boundSteps: 15 },
};
const BOUND_CHILD = fileURLToPath(new URL('./scaling-bound-child.js', import.meta.url));
const run = promisify(execFile);

/** ms per forward/backward step of `model` at `batch` in each of `procs` processes started together. */
async function computeOnly(model: Record<string, unknown>, batch: number, steps: number, procs: number): Promise<number> {
  const outs = await Promise.all(Array.from({ length: procs }, () => run(process.execPath, [BOUND_CHILD, JSON.stringify(model), String(batch), String(steps)])));
  return Math.max(...outs.map((o) => (JSON.parse(o.stdout.trim().split('\n').pop()!) as { ms: number }).ms));
}

function job(model: keyof typeof MODELS, workers: number, batchSize: number, transport: 'auto' | 'tcp' = 'auto') {
  const c = config(MODELS[model].file);
  return {
    name: `bench-scaling-${model}`,
    seed: 1,
    data: { source: 'fashion-mnist', path: FASHION_MNIST },
    model: c.model,
    train: { epochs: 20, maxSteps: MODELS[model].steps, batchSize, optimizer: { name: 'adam', lr: 0.001 }, logEvery: 1, checkpoint: { epochEnd: false, minutes: 0, keep: 0 } },
    cluster: { workers, strategy: 'ring', backend: 'wasm', transport },
  };
}

export async function benchScaling(args: string[]): Promise<void> {
  const rounds = roundsOf(args);
  const only = flag(args, '--model');
  if (only !== undefined && !(only in MODELS)) throw new Error(`--model must be mlp or cnn, got ${only}`);
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  const models = (only ? [only] : Object.keys(MODELS)) as (keyof typeof MODELS)[];
  console.log(`dtrain run, ring, wasm, Fashion-MNIST; ${rounds} interleaved round(s), medians of steady-state samples/s`);
  for (const model of models) {
    const b = config(MODELS[model].file).train.batchSize;
    const variants = [
      { name: '1 worker', workers: 1, batch: b },
      { name: '2 workers, same global batch', workers: 2, batch: b },
      { name: '2 workers, batch doubled', workers: 2, batch: 2 * b },
      { name: '2 workers, same, TCP ring', workers: 2, batch: b, transport: 'tcp' as const },
    ];
    const runs = variants.map(() => [] as StepProfile[]);
    for (let r = 0; r < rounds; r++) variants.forEach((v, k) => runs[k].push(runStepProfile(job(model, v.workers, v.batch, v.transport), ['--insecure'])));
    const rate = (k: number) => middle(runs[k].map((p) => (variants[k].batch / p.ms) * 1000));
    console.log(`\n${model.toUpperCase()} (${MODELS[model].file}, b${b}, ${MODELS[model].steps} steps)`);
    console.log('variant                          samples/s   ratio   ms/step   compute   collective   spread');
    variants.forEach((v, k) => {
      const ms = middle(runs[k].map((p) => p.ms));
      const med = (key: 'computeMs' | 'commMs' | 'spreadMs') => middle(runs[k].map((p) => p[key])).toFixed(2).padStart(7);
      console.log(`${v.name.padEnd(31)}  ${rate(k).toFixed(0).padStart(9)}   ${(rate(k) / rate(0)).toFixed(2).padStart(5)}   ${ms.toFixed(2).padStart(7)}   ${med('computeMs')}   ${med('commMs').padStart(10)}   ${med('spreadMs').padStart(6)}`);
    });
    const one: number[] = [];
    const two: number[] = [];
    const c = config(MODELS[model].file).model;
    for (let r = 0; r < rounds; r++) {
      one.push(await computeOnly(c, b, MODELS[model].boundSteps, 1));
      two.push(await computeOnly(c, b / 2, MODELS[model].boundSteps, 2));
    }
    const [t1, t2] = [middle(one), middle(two)];
    console.log(`bound: forward/backward alone, 1 process at b${b} ${t1.toFixed(2)} ms, 2 processes side by side at b${b / 2} ${t2.toFixed(2)} ms: strong scaling ≤ ${(t1 / t2).toFixed(2)}`);
  }
}
