/** FGSM and PGD on random inputs and random models: the constraints hold, the losses order, targets gain, tfjs ops agree. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { adversarialSchema, evaluationAttacks, trainingAttack } from '../src/jobs/adversarial/spec.js';
import { attack, attackTargets, type AttackOptions } from '../src/jobs/adversarial/attacks.js';
import { Rng } from '../src/util/rng.js';
import { referenceAttack } from './helpers/attack-reference.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CLASSES = 4;
const models: Record<string, { shape: number[]; build: (seed: number) => tfl.LayersModel }> = {
  mlp: {
    shape: [12],
    build: (seed) =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 24, activation: 'tanh', inputShape: [12], kernelInitializer: tfl.initializers.glorotNormal({ seed }) }),
          tfl.layers.dense({ units: CLASSES, kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }) }),
        ],
      }),
  },
  cnn: {
    shape: [8, 8, 1],
    build: (seed) =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1], kernelInitializer: tfl.initializers.glorotNormal({ seed }) }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: CLASSES, kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }) }),
        ],
      }),
  },
};

const N = 64;
function inputs(shape: number[], seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return { x: Float32Array.from({ length: N * size }, () => rng.next()), y: Int32Array.from({ length: N }, () => rng.int(CLASSES)) };
}

const pgd: AttackOptions = { attack: 'pgd', epsilon: 0.1, steps: 10, stepSize: 0.025, randomStart: true, targeted: false, clip: [0, 1] };
const fgsm: AttackOptions = { ...pgd, attack: 'fgsm', randomStart: false };
const key = { seed: 3, step: 7, offset: 0 };

function meanLoss(model: tfl.LayersModel, x: Float32Array, labels: Int32Array, shape: number[]): number {
  return tf.tidy(() => (tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES), model.predict(tf.tensor(x, [labels.length, ...shape])) as tf.Tensor) as tf.Scalar).dataSync()[0]);
}

function probabilityOf(model: tfl.LayersModel, x: Float32Array, labels: Int32Array, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const p = tf.softmax(model.predict(tf.tensor(x, [labels.length, ...shape])) as tf.Tensor);
    return tf.sum(tf.mul(p, tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES)), 1).dataSync() as Float32Array;
  });
}

for (const [name, m] of Object.entries(models)) {
  describe(`attacks on a random ${name}`, () => {
    it('every adversarial element is within ε of the clean one and inside the clip range', () => {
      for (const seed of [1, 2, 3]) {
        const model = m.build(seed);
        const { x: unit, y } = inputs(m.shape, seed);
        // Clean values in [0.25, 0.75]: the narrower clip range [0.2, 0.9] still holds them, and binds below.
        const x = unit.map((v) => 0.25 + 0.5 * v);
        for (const o of [pgd, fgsm, { ...pgd, targeted: 'random' as const }, { ...pgd, clip: [0.2, 0.9] as [number, number] }]) {
          const adv = attack(model, x, y, m.shape, CLASSES, o, key);
          let far = 0;
          adv.forEach((v, i) => (far = Math.max(far, Math.abs(v - x[i]) - o.epsilon, o.clip[0] - v, v - o.clip[1])));
          expect(far).toBeLessThanOrEqual(1e-6);
          expect(Array.from(adv)).not.toEqual(Array.from(x));
        }
      }
    });

    it('on average, PGD loss ≥ FGSM loss ≥ clean loss', () => {
      for (const seed of [4, 5, 6]) {
        const model = m.build(seed);
        const { x, y } = inputs(m.shape, seed);
        const clean = meanLoss(model, x, y, m.shape);
        const f = meanLoss(model, attack(model, x, y, m.shape, CLASSES, fgsm, key), y, m.shape);
        const p = meanLoss(model, attack(model, x, y, m.shape, CLASSES, pgd, key), y, m.shape);
        expect(f).toBeGreaterThan(clean);
        expect(p).toBeGreaterThanOrEqual(f);
      }
    });

    it('a targeted attack raises the target class’s probability', () => {
      const model = m.build(7);
      const { x, y } = inputs(m.shape, 7);
      for (const mode of ['next', 'random'] as const) {
        const targets = attackTargets(y, CLASSES, mode, key);
        expect(targets.every((t, i) => t !== y[i])).toBe(true);
        const before = probabilityOf(model, x, targets, m.shape);
        const after = probabilityOf(model, attack(model, x, y, m.shape, CLASSES, { ...pgd, targeted: mode }, key), targets, m.shape);
        const gained = after.filter((p, i) => p > before[i]).length;
        expect(gained).toBeGreaterThan(0.9 * N);
        expect(after.reduce((a, b) => a + b, 0)).toBeGreaterThan(before.reduce((a, b) => a + b, 0));
      }
    });

    it('equals the same attack written with tfjs ops, and does not depend on how the batch is split', () => {
      const model = m.build(8);
      const { x, y } = inputs(m.shape, 8);
      for (const o of [pgd, fgsm, { ...pgd, targeted: 'random' as const }]) {
        const ours = attack(model, x, y, m.shape, CLASSES, o, key);
        const ref = tf.tidy(() => referenceAttack(model, tf.tensor(x, [N, ...m.shape]), y, CLASSES, o, key).dataSync());
        let worst = 0;
        ours.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref[i]))));
        expect(worst).toBeLessThan(1e-6);
        const size = x.length / N;
        const cut = 23;
        const a = attack(model, x.subarray(0, cut * size), y.subarray(0, cut), m.shape, CLASSES, o, key);
        const b = attack(model, x.subarray(cut * size), y.subarray(cut), m.shape, CLASSES, o, { ...key, offset: cut });
        expect(Array.from([...a, ...b])).toEqual(Array.from(ours));
      }
    });
  });
}

describe('attack settings', () => {
  it('defaults are the standard MNIST settings and the course formula; the evaluation is FGSM and PGD-20 of 2.5ε/20', () => {
    const a = adversarialSchema.parse({});
    expect(a).toMatchObject({ attack: 'pgd', epsilon: 0.3, steps: 40, stepSize: 0.01, randomStart: true, targeted: false, cleanWeight: 1, advWeight: 1, evalSteps: 20 });
    expect(trainingAttack(a, 'fashion-mnist').clip).toEqual([0, 1]);
    expect(trainingAttack(a, 'synthetic').clip).toEqual([-Infinity, Infinity]);
    const e = evaluationAttacks({ ...a, epsilon: 0.1 }, 'fashion-mnist');
    expect(e.fgsm).toMatchObject({ attack: 'fgsm', epsilon: 0.1, randomStart: false });
    expect(e.pgd).toMatchObject({ attack: 'pgd', steps: 20, randomStart: true, targeted: false });
    expect(e.pgd!.stepSize).toBeCloseTo(0.0125, 12);
  });

  it('rejects a loss with no term and an empty clip range', () => {
    expect(adversarialSchema.safeParse({ cleanWeight: 0, advWeight: 0 }).error?.issues[0]).toMatchObject({ path: ['advWeight'] });
    expect(adversarialSchema.safeParse({ clip: [1, 0] }).error?.issues[0].message).toMatch(/min < max/);
  });

  it('evalAttacks chooses the evaluation attacks: at least one, each once', () => {
    expect(Object.keys(evaluationAttacks(adversarialSchema.parse({ evalAttacks: ['pgd'] }), 'fashion-mnist'))).toEqual(['pgd']);
    expect(Object.keys(evaluationAttacks(adversarialSchema.parse({}), 'fashion-mnist'))).toEqual(['fgsm', 'pgd']);
    expect(adversarialSchema.safeParse({ evalAttacks: ['pgd', 'pgd'] }).error?.issues[0]).toMatchObject({ path: ['evalAttacks'], message: expect.stringMatching(/twice/) });
    expect(adversarialSchema.safeParse({ evalAttacks: [] }).success).toBe(false);
    expect(adversarialSchema.safeParse({ evalAttacks: ['cw'] }).success).toBe(false);
  });
});
