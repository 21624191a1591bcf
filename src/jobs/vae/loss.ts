/**
 * The VAE's per-sample loss terms (Kingma & Welling 2014, appendix B):
 *   reconstruction = −log p(x|z) = Σ over the sample's values of the
 *     Bernoulli cross-entropy of sigmoid(logit) against x, computed from
 *     the logits as max(l, 0) − l·x + log(1 + e^−|l|), which neither
 *     overflows nor takes the log of 0;
 *   KL(q(z|x) ‖ N(0, I)) = ½ Σ_j (σ_j² + μ_j² − 1 − log σ_j²), in closed form;
 * with z = μ + exp(logσ²/2)·ε (the reparameterisation), so that the
 * gradient reaches the encoder through the sample. The negative ELBO of a
 * sample is their sum; training weighs the KL term by β.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

export interface VaeTerms {
  /** [n]: each sample's reconstruction term, in nats. */
  reconstruction: tf.Tensor1D;
  /** [n]: each sample's KL term, in nats. */
  kl: tf.Tensor1D;
}

/** [n]: Σ over each sample's values of the Bernoulli cross-entropy of sigmoid(logits) against x (same shape, [n, …]). */
export function bernoulliReconstruction(logits: tf.Tensor, x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const n = logits.shape[0];
    const l = tf.reshape(logits, [n, -1]);
    const t = tf.reshape(x, [n, -1]);
    const perValue = tf.add(tf.sub(tf.relu(l), tf.mul(l, t)), tf.log1p(tf.exp(tf.neg(tf.abs(l)))));
    return tf.sum(perValue, 1) as tf.Tensor1D;
  });
}

/** [n]: KL(N(μ, diag σ²) ‖ N(0, I)) of each row of μ and logσ² ([n, latent]). */
export function gaussianKl(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.sum(tf.sub(tf.add(tf.exp(logVar), tf.square(mu)), tf.add(logVar, 1)), 1), 0.5) as tf.Tensor1D);
}

/** The encoder's output [n, 2·latent] split into μ and logσ². */
export function posterior(encoded: tf.Tensor): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
  const [mu, logVar] = tf.split(encoded as tf.Tensor2D, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  return { mu, logVar };
}

/** Both terms for a batch x, with ε ([n, latent]) for the reparameterisation; `training` as Layers' apply takes it. */
export function vaeTerms(encoder: LayersModel, decoder: LayersModel, x: tf.Tensor, eps: tf.Tensor2D, training: boolean): VaeTerms {
  return tf.tidy(() => {
    const { mu, logVar } = posterior(encoder.apply(x, { training }) as tf.Tensor);
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
    const logits = decoder.apply(z, { training }) as tf.Tensor;
    return { reconstruction: bernoulliReconstruction(logits, x), kl: gaussianKl(mu, logVar) };
  });
}

/** Σ over the batch of reconstruction + β·KL: the loss whose gradient a step takes. */
export function sumLoss(t: VaeTerms, beta: number): tf.Scalar {
  return tf.tidy(() => tf.sum(beta === 1 ? tf.add(t.reconstruction, t.kl) : tf.add(t.reconstruction, tf.mul(t.kl, beta))) as tf.Scalar);
}
