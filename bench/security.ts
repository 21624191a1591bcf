/**
 * `npm run bench -- security [--rounds N]`: what the default security costs.
 *  1. Step time of the 2-worker Fashion-MNIST MLP (configs/fashion-mnist-mlp.yaml's
 *     model, b128, wasm) run by `dtrain run`: --insecure (baseline, the same
 *     run), the default (CURVE control link, sealed ring: frame-seal.ts), and
 *     cluster.encrypt (CURVE on the ring too). Rounds interleave the three;
 *     medians; the ratio against the baseline (goal for the default: ≤ 1.05).
 *  2. All-reduce of 1 and 16 MiB over a ring of 2 processes in each mode:
 *     time and bus bandwidth, and the ratio against links in clear.
 */
import { existsSync } from 'node:fs';
import { newSessionKey } from '../src/wire/frame-seal.js';
import { generateKey } from '../src/wire/cluster-key.js';
import { ringTime } from './allreduce.js';
import type { LinkSecurity } from './peer.js';
import { compareStepTimes, middle, roundsOf } from './run-step-ms.js';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const MiB = 1024 * 1024;
const STEPS = 400;

const mlp = (encrypt: boolean) => ({
  name: 'bench-security',
  seed: 1,
  data: { source: 'fashion-mnist', path: FASHION_MNIST },
  model: { zoo: 'mlp', hidden: [256, 128, 100], activation: 'relu', dropout: 0.1 },
  train: { epochs: 1, maxSteps: STEPS, batchSize: 128, optimizer: { name: 'adam', lr: 0.001 }, clipNorm: 5, logEvery: 50, checkpoint: { epochEnd: false, minutes: 0, keep: 0 } },
  cluster: { workers: 2, strategy: 'ring', backend: 'wasm', encrypt },
});

const modes = [
  { name: 'insecure (baseline)', job: mlp(false), args: ['--insecure'] },
  { name: 'default: CURVE control, sealed ring', job: mlp(false), args: [] },
  { name: 'cluster.encrypt: CURVE everywhere', job: mlp(true), args: [] },
];

export async function benchSecurity(args: string[]): Promise<void> {
  const rounds = roundsOf(args);
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);

  console.log(`step time, Fashion-MNIST MLP 784-256-128-100-10, b128, 2 workers, ring, wasm, ${STEPS} steps; ${rounds} interleaved round(s), medians`);
  const medians = compareStepTimes(modes, rounds);
  const cost = medians[1] / medians[0] - 1;
  console.log(`default security costs ${(cost * 100).toFixed(1)}% of a step (goal ≤ 5%)`);

  console.log('\nall-reduce, ring of 2 processes over tcp://127.0.0.1, 4 MiB chunks; ratio: time against links in clear');
  console.log('mode        size      time ms   busbw GB/s   ratio');
  const links: [string, () => LinkSecurity][] = [
    ['clear', () => ({ mode: 'clear' })],
    ['sealed', () => ({ mode: 'sealed', sessionKey: newSessionKey() })],
    ['encrypted', () => ({ mode: 'encrypted', key: generateKey() })],
  ];
  for (const bytes of [1 * MiB, 16 * MiB]) {
    const times = links.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) for (const [k, [, sec]] of links.entries()) times[k].push(await ringTime(2, bytes, 4 * MiB, sec()));
    const clear = middle(times[0]);
    links.forEach(([name], k) => {
      const t = middle(times[k]);
      console.log(`${name.padEnd(10)}  ${`${bytes / MiB} MiB`.padEnd(7)}  ${(t * 1000).toFixed(2).padStart(8)}   ${(bytes / t / 1e9).toFixed(2).padStart(10)}   ${(t / clear).toFixed(2)}`);
    });
  }
}
