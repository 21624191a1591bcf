/**
 * Adversarial examples computed with tfjs ops alone (sign, minimum, maximum
 * and tfjs's mean softmax cross-entropy), for checking dtrain's attacks and
 * adversarial training. Only the seeded draws (random starts, random
 * targets) come from dtrain: they define the computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { attackTargets, randomStartNoise, type AttackKey, type AttackOptions } from '../../src/jobs/adversarial/attacks.js';

export function referenceAttack(model: LayersModel, x: tf.Tensor, y: Int32Array, classes: number, o: AttackOptions, key: AttackKey): tf.Tensor {
  return tf.tidy(() => {
    const n = y.length;
    const [lo, hi] = o.clip;
    const clip = (t: tf.Tensor) => tf.minimum(tf.maximum(t, lo), hi);
    let adv = x;
    if (o.attack === 'pgd' && o.randomStart) adv = clip(tf.add(x, tf.tensor(randomStartNoise(key, n, x.size / n, o.epsilon), x.shape)));
    const labels = tf.oneHot(tf.tensor1d(o.targeted === false ? y : attackTargets(y, classes, o.targeted, key), 'int32'), classes);
    const loss = (a: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, model.apply(a, { training: false }) as tf.Tensor) as tf.Scalar;
    const sign = o.targeted === false ? 1 : -1;
    const [steps, eta] = o.attack === 'fgsm' ? [1, o.epsilon] : [o.steps, o.stepSize];
    for (let t = 0; t < steps; t++) {
      const g = tf.grad(loss)(adv);
      const moved = tf.add(adv, tf.mul(tf.sign(g), sign * eta));
      adv = clip(tf.minimum(tf.maximum(moved, tf.sub(x, o.epsilon)), tf.add(x, o.epsilon)));
    }
    return adv;
  });
}
