/** The classifier score of generated images, against closed forms and a float64 computation of the model by hand. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { classProbabilities, scoreProbabilities } from '../src/tensor/classifier-score.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rows = (r: number[][]) => r.map((x) => Float64Array.from(x));

describe('scoreProbabilities', () => {
  it('uniform predictions: confidence 1/K, entropy ln K, Inception score 1', () => {
    const s = scoreProbabilities(rows(Array.from({ length: 6 }, () => [0.25, 0.25, 0.25, 0.25])));
    expect(s.meanConfidence).toBeCloseTo(0.25, 12);
    expect(s.classEntropy).toBeCloseTo(Math.log(4), 12);
    expect(s.inceptionScore).toBeCloseTo(1, 12);
  });

  it('confident and spread over all classes: confidence 1, entropy ln K, Inception score K', () => {
    const s = scoreProbabilities(rows([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]]));
    expect(s).toMatchObject({ samples: 6, classCounts: [2, 2, 2] });
    expect(s.meanConfidence).toBeCloseTo(1, 12);
    expect(s.classEntropy).toBeCloseTo(Math.log(3), 12);
    expect(s.inceptionScore).toBeCloseTo(3, 12);
  });

  it('mode collapse onto one class: entropy 0, Inception score 1', () => {
    const s = scoreProbabilities(rows([[0, 1], [0, 1], [0, 1]]));
    expect(s.classEntropy).toBeCloseTo(0, 12);
    expect(s.inceptionScore).toBeCloseTo(1, 12);
    expect(s.classCounts).toEqual([0, 3]);
  });

  it('a mixed case equals the definition worked by hand', () => {
    const p = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]];
    const mean = [0.4, 0.5, 0.1];
    const kl = p.map((r) => r.reduce((s, v, j) => s + v * Math.log(v / mean[j]), 0));
    const s = scoreProbabilities(rows(p));
    expect(s.meanConfidence).toBeCloseTo(0.75, 12);
    expect(s.classEntropy).toBeCloseTo(-mean.reduce((a, q) => a + q * Math.log(q), 0), 12);
    expect(s.inceptionScore).toBeCloseTo(Math.exp((kl[0] + kl[1]) / 2), 12);
  });

  it('no samples is an error', () => {
    expect(() => scoreProbabilities([])).toThrow(/no samples/);
  });
});

describe('classProbabilities', () => {
  const n = 300; // more than one predict batch
  const images = Float32Array.from({ length: n * 4 * 4 }, (_, i) => Math.sin(i * 0.37));
  // softmax(x·W + b) in float64: the probabilities whether the model outputs logits or applies the softmax itself.
  const byHand = (kernel: Float32Array, bias: Float32Array) =>
    Array.from({ length: n }, (_, s) => {
      const z = Array.from({ length: 3 }, (_, k) => {
        let v = bias[k];
        for (let i = 0; i < 16; i++) v += images[s * 16 + i] * kernel[i * 3 + k];
        return v;
      });
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    });

  for (const activation of ['linear', 'softmax'] as const) {
    it(`a model with ${activation === 'linear' ? 'logits' : 'softmax probabilities'} as output: p(y|x) within 1e-6 of a float64 computation`, () => {
      const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [4, 4, 1] }), tfl.layers.dense({ units: 3, activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), biasInitializer: tfl.initializers.randomNormal({ seed: 4 }) })] });
      const [kernel, bias] = model.getWeights().map((w) => w.dataSync() as Float32Array);
      const expected = byHand(kernel, bias);
      const got = classProbabilities(model, images, n, [4, 4, 1]);
      expect(got.length).toBe(n);
      let worst = 0;
      got.forEach((r, s) => r.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - expected[s][k])))));
      expect(worst).toBeLessThan(1e-6);
    });
  }
});
