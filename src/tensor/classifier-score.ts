/**
 * Scoring images with a classifier trained on the same data (an Inception
 * score analogue, Salimans et al. 2016): with p(y|x) the classifier's class
 * probabilities and p(y) their mean over the samples,
 *   - mean confidence: the mean of max_y p(y|x) (recognisable samples score high);
 *   - class entropy: H(p(y)) in nats (samples spread over all classes score
 *     near ln K; one class only, 0);
 *   - Inception score: exp(mean KL(p(y|x) ‖ p(y))), between 1 and K.
 * Probabilities and sums are float64.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

export interface ClassifierScore {
  samples: number;
  meanConfidence: number;
  classEntropy: number;
  inceptionScore: number;
  /** How many samples the classifier puts in each class (its argmax). */
  classCounts: number[];
}

const BATCH = 256;

/** True when the model's last layer applies a softmax (its outputs are probabilities); dtrain's models output logits. */
function outputsProbabilities(model: LayersModel): boolean {
  return model.layers[model.layers.length - 1].getConfig().activation === 'softmax';
}

/** p(y|x) of each image (row-major [n, …shape]), as float64 rows. */
export function classProbabilities(model: LayersModel, images: Float32Array, n: number, shape: number[]): Float64Array[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const probs = outputsProbabilities(model);
  const rows: Float64Array[] = [];
  for (let a = 0; a < n; a += BATCH) {
    const m = Math.min(BATCH, n - a);
    const out = tf.tidy(() => (model.predict(tf.tensor(images.subarray(a * size, (a + m) * size), [m, ...shape])) as tf.Tensor).dataSync());
    const k = out.length / m;
    for (let i = 0; i < m; i++) {
      const row = Float64Array.from(out.subarray(i * k, (i + 1) * k));
      if (probs) {
        const s = row.reduce((x, y) => x + y, 0);
        rows.push(row.map((v) => v / s));
      } else {
        const max = Math.max(...row);
        const e = row.map((v) => Math.exp(v - max));
        const s = e.reduce((x, y) => x + y, 0);
        rows.push(e.map((v) => v / s));
      }
    }
  }
  return rows;
}

export function scoreProbabilities(rows: Float64Array[]): ClassifierScore {
  const n = rows.length;
  if (n === 0) throw new RangeError('no samples to score');
  const k = rows[0].length;
  const mean = new Float64Array(k);
  const counts = new Array<number>(k).fill(0);
  let confidence = 0;
  for (const p of rows) {
    let best = 0;
    for (let j = 0; j < k; j++) {
      mean[j] += p[j] / n;
      if (p[j] > p[best]) best = j;
    }
    confidence += p[best];
    counts[best]++;
  }
  const plogq = (p: number, q: number) => (p > 0 ? p * Math.log(p / q) : 0);
  let entropy = 0;
  for (const q of mean) entropy -= q > 0 ? q * Math.log(q) : 0;
  let kl = 0;
  for (const p of rows) for (let j = 0; j < k; j++) kl += plogq(p[j], mean[j]);
  return { samples: n, meanConfidence: confidence / n, classEntropy: entropy, inceptionScore: Math.exp(kl / n), classCounts: counts };
}

export function classifierScore(model: LayersModel, images: Float32Array, n: number, shape: number[]): ClassifierScore {
  return scoreProbabilities(classProbabilities(model, images, n, shape));
}
