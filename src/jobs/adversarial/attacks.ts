/**
 * Adversarial examples against a classifier (logits out), one sample at a
 * time in effect: the model runs in inference mode (no dropout, batch-norm
 * with its moving statistics), so a sample's attack does not depend on the
 * others in its batch, nor on how a batch is split across workers.
 *
 *   FGSM: x' = clip(x + ε · sign(∇ₓ L(x, y)))
 *   PGD:  x₀ = clip(x + U(−ε, ε)) (random start) or x;
 *         x_{t+1} = clip(Proj_{B_ε(x)}(x_t + η · sign(∇ₓ L(x_t, y))))
 * A targeted attack descends L(x, t) for a target label t instead. L is the
 * softmax cross-entropy; clip keeps the data range.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { sumSoftmaxCrossEntropy } from '../../tensor/loss.js';
import { hashInts, Rng, Stream, uniformAt } from '../../util/rng.js';

export interface AttackOptions {
  attack: 'pgd' | 'fgsm';
  epsilon: number;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  targeted: false | 'random' | 'next';
  /** The data range adversarial inputs stay in. */
  clip: [number, number];
}

/** The evaluation's key space for random starts (step 0, offset = test index), apart from training steps' (purpose 0). */
export const EVAL_PURPOSE = 1;

/** What keys an attack's randomness: (seed, purpose, step, global index of the batch's first sample). */
export interface AttackKey {
  seed: number;
  /** The training step; the evaluation uses its own purpose key. */
  step: number;
  /** Global index of the first sample (a shard's offset in the global batch, or a test index). */
  offset: number;
  /** Apart from training steps' keys: 0 for training, another number for the evaluation. */
  purpose?: number;
}

/** The target labels of a targeted attack: label + 1 (mod classes), or a wrong label drawn from (key, sample). */
export function attackTargets(y: Int32Array, classes: number, mode: 'random' | 'next', key: AttackKey): Int32Array {
  return y.map((label, j) => {
    if (mode === 'next') return (label + 1) % classes;
    const u = uniformAt(key.seed, Stream.attack, key.purpose ?? 0, key.step, key.offset + j, 1);
    return (label + 1 + Math.floor(u * (classes - 1))) % classes;
  });
}

/** The random start's offsets U(−ε, ε) for `count` samples of `size` values, keyed by (key, sample). */
export function randomStartNoise(key: AttackKey, count: number, size: number, epsilon: number): Float32Array {
  const out = new Float32Array(count * size);
  for (let j = 0; j < count; j++) {
    const rng = new Rng(hashInts(key.seed, Stream.attack, key.purpose ?? 0, key.step, key.offset + j, 0));
    for (let i = 0; i < size; i++) out[j * size + i] = (2 * rng.next() - 1) * epsilon;
  }
  return out;
}

/** ∇ₓ Σ L(model(x), labels), the model in inference mode. */
export function inputGradient(model: LayersModel, x: Float32Array, labels: Int32Array, shape: number[], classes: number): Float32Array {
  return tf.tidy(() => {
    const y = tf.tensor1d(labels, 'int32');
    const loss = (xi: tf.Tensor) => sumSoftmaxCrossEntropy(model.apply(xi, { training: false }) as tf.Tensor, y, classes);
    return tf.grad(loss)(tf.tensor(x, [labels.length, ...shape])).dataSync() as Float32Array;
  });
}

/** Adversarial versions of the samples x (row-major [n, …shape]) with labels y. */
export function attack(model: LayersModel, x: Float32Array, y: Int32Array, shape: number[], classes: number, o: AttackOptions, key: AttackKey): Float32Array {
  const n = y.length;
  if (n === 0) return new Float32Array(0);
  const [lo, hi] = o.clip;
  const eps = o.epsilon;
  const adv = x.slice();
  if (o.attack === 'pgd' && o.randomStart) {
    const noise = randomStartNoise(key, n, x.length / n, eps);
    for (let i = 0; i < adv.length; i++) adv[i] = Math.min(hi, Math.max(lo, x[i] + noise[i]));
  }
  const labels = o.targeted === false ? y : attackTargets(y, classes, o.targeted, key);
  const direction = o.targeted === false ? 1 : -1;
  const [steps, eta] = o.attack === 'fgsm' ? [1, eps] : [o.steps, o.stepSize];
  for (let t = 0; t < steps; t++) {
    const g = inputGradient(model, adv, labels, shape, classes);
    for (let i = 0; i < adv.length; i++) {
      const v = adv[i] + direction * eta * Math.sign(g[i]);
      adv[i] = Math.min(hi, Math.max(lo, Math.min(x[i] + eps, Math.max(x[i] - eps, v))));
    }
  }
  return adv;
}
