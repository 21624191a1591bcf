/**
 * `npm run bench -- adversarial [--model mlp|cnn] [--steps 1,3,7]`: step time
 * of adversarial training over clean training of the same model and batch,
 * 2 workers, interleaved three times (medians). A PGD-k step makes k attack
 * passes (forward and input gradient, inference mode) and then trains on the
 * adversarial batch: ideally (k + 1)× a clean step with the adversarial term
 * alone (Madry et al.), (k + 2)× with the clean term too (the course's loss).
 */
import { existsSync } from 'node:fs';
import { middle, runStepMs } from './run-step-ms.js';
import { flag } from './args.js';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const STEPS = 60;
const BATCH = 128;

const models: Record<string, Record<string, unknown>> = {
  mlp: { zoo: 'mlp', hidden: [256, 128, 100], dropout: 0.1 },
  cnn: { zoo: 'cnn', conv: [32, 64], kernelSize: 3, dense: [128] },
};

interface Variant {
  label: string;
  ideal: number;
  adversarial?: Record<string, unknown>;
}

const job = (model: Record<string, unknown>, v: Variant) => ({
  name: 'bench-adversarial',
  type: v.adversarial ? 'adversarial' : 'supervised',
  data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: BATCH * STEPS, testLimit: 50 },
  model,
  ...(v.adversarial ? { adversarial: { epsilon: 0.1, evalSteps: 1, evalAttacks: ['fgsm'], ...v.adversarial } } : {}),
  train: { maxSteps: STEPS, batchSize: BATCH, optimizer: { name: 'adam', lr: 0.001 }, logEvery: 15 },
  cluster: { workers: 2, backend: 'wasm' },
});

export async function benchAdversarial(args: string[]): Promise<void> {
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  const name = flag(args, '--model', 'mlp');
  const model = models[name];
  if (!model) throw new Error(`--model ${name}: one of ${Object.keys(models).join(', ')}`);
  const ks = flag(args, '--steps', '1,3,7').split(',').map(Number);
  if (ks.some((k) => !Number.isInteger(k) || k < 1)) throw new Error('--steps takes whole numbers ≥ 1, e.g. 1,3,7');
  const variants: Variant[] = [{ label: 'clean', ideal: 1 }];
  for (const k of ks) {
    const pgd = { attack: 'pgd', steps: k, stepSize: (2.5 * 0.1) / k };
    variants.push({ label: `PGD-${k}, adversarial term alone`, ideal: k + 1, adversarial: { ...pgd, cleanWeight: 0 } });
    variants.push({ label: `PGD-${k}, clean + adversarial`, ideal: k + 2, adversarial: pgd });
  }
  const ms = variants.map(() => [] as number[]);
  for (let round = 0; round < 3; round++) variants.forEach((v, i) => ms[i].push(runStepMs(job(model, v))));
  const med = ms.map(middle);
  console.log(`Fashion-MNIST ${name}, batch ${BATCH} over 2 workers, wasm, ε 0.1; ms per step, median of 3 interleaved runs`);
  console.log(`  ${'step'.padEnd(34)} ${'ms'.padStart(8)}  ${'× clean'.padStart(8)}  ${'ideal'.padStart(6)}`);
  variants.forEach((v, i) => {
    console.log(`  ${v.label.padEnd(34)} ${med[i].toFixed(1).padStart(8)}  ${(med[i] / med[0]).toFixed(2).padStart(8)}  ${String(v.ideal).padStart(6)}   (runs: ${ms[i].map((x) => x.toFixed(1)).join(', ')})`);
  });
}
