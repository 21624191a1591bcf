/**
 * The zoo's recurrent models (rnn, lstm, gru): the seeded orthogonal
 * initializer is orthonormal (checked by multiplying it out) and the same
 * for a seed; models read images as rows and vectors as steps, stack and
 * run both ways as the spec says, have the parameter counts of the
 * textbook cells (computed here from the formulas), and save and load back
 * to the same predictions.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orthogonalMatrix } from '../src/tensor/layers/orthogonal.js';
import { buildModel } from '../src/tensor/models/zoo.js';
import { modelSchema } from '../src/spec/model.js';
import { fileLoadHandler, saveModel } from '../src/tensor/models/save.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => tmp.cleanup());

/** Gram matrix of the shorter side's vectors. */
function gram(m: Float32Array, rows: number, cols: number): number[][] {
  const [k, len] = rows >= cols ? [cols, rows] : [rows, cols];
  const at = (i: number, t: number) => (rows >= cols ? m[t * cols + i] : m[i * cols + t]);
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => {
    let s = 0;
    for (let t = 0; t < len; t++) s += at(i, t) * at(j, t);
    return s;
  }));
}

const model = (spec: Record<string, unknown>, inputShape: number[], classes = 10) => buildModel(modelSchema.parse(spec), { inputShape, classes }, 5);

describe('recurrent zoo models', () => {
  it('the orthogonal initializer: orthonormal columns (tall) or rows (wide), the same for a seed', () => {
    for (const [rows, cols] of [[64, 16], [16, 64], [32, 32]]) {
      const m = orthogonalMatrix(rows, cols, 9);
      gram(m, rows, cols).forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - (i === j ? 1 : 0))).toBeLessThan(1e-5)));
    }
    expect(orthogonalMatrix(8, 32, 1)).toEqual(orthogonalMatrix(8, 32, 1));
    expect(orthogonalMatrix(8, 32, 1)).not.toEqual(orthogonalMatrix(8, 32, 2));
  });

  it('parameter counts are the cells\' formulas: rnn u(f+u+1), gru 3u(f+u+1) (one bias: the reset-before cell of tfjs), lstm 4u(f+u+1); bidirectional doubles them', async () => {
    const f = 28;
    const u = 12;
    const head = (width: number) => width * 10 + 10;
    const count = (m: tfl.LayersModel) => m.countParams();
    expect(count(await model({ zoo: 'rnn', units: u }, [28, 28, 1]))).toBe(u * (f + u + 1) + head(u));
    expect(count(await model({ zoo: 'gru', units: u }, [28, 28, 1]))).toBe(3 * u * (f + u + 1) + head(u));
    expect(count(await model({ zoo: 'lstm', units: u }, [28, 28, 1]))).toBe(4 * u * (f + u + 1) + head(u));
    // Two layers, both ways: the second reads the first's 2u-wide sequence.
    const two = 2 * 4 * u * (f + u + 1) + 2 * 4 * u * (2 * u + u + 1);
    expect(count(await model({ zoo: 'lstm', units: u, layers: 2, bidirectional: true }, [28, 28, 1]))).toBe(two + head(2 * u));
    // A vector of 6 is 6 steps of one value.
    expect(count(await model({ zoo: 'gru', units: u, dense: [7] }, [6], 3))).toBe(3 * u * (1 + u + 1) + (u * 7 + 7) + (7 * 3 + 3));
  });

  it('images are read as rows; a rank-4 input is refused, naming the key', async () => {
    const m = await model({ zoo: 'lstm', units: 4 }, [5, 3, 2], 2);
    expect(m.layers[0].outputShape).toEqual([null, 5, 6]);
    await expect(model({ zoo: 'lstm', units: 4 }, [2, 2, 2, 2], 2)).rejects.toThrow(/model\.zoo|sequences \[T, F\]/);
  });

  it("tfjs-layers' default recurrent initializer works in a user's own LSTM (it needed chained tensor methods) and is orthogonal", () => {
    const m = tfl.sequential({ layers: [tfl.layers.lstm({ inputShape: [3, 2], units: 4 }), tfl.layers.dense({ units: 2 })] });
    const recurrent = m.layers[0].getWeights()[1]; // [units, 4·units]: its rows orthonormal
    const values = recurrent.dataSync() as Float32Array;
    gram(values, 4, 16).forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - (i === j ? 1 : 0))).toBeLessThan(1e-5)));
    const cell = (m.getConfig() as unknown as { layers: { config: { recurrentInitializer: { className: string } } }[] }).layers[0].config;
    expect(cell.recurrentInitializer.className).toBe('Orthogonal');
  });

  it('a saved lstm loads back (its initializer too) and predicts the same', async () => {
    const m = await model({ zoo: 'lstm', units: 6, layers: 2, bidirectional: true, dense: [5] }, [7, 4], 3);
    const x = tf.randomUniform([2, 7, 4], 0, 1, 'float32', 3);
    const before = (m.predict(x) as tf.Tensor).dataSync().slice();
    await saveModel(m, tmp.dir);
    const loaded = await tfl.loadLayersModel(fileLoadHandler(tmp.dir));
    expect((loaded.predict(x) as tf.Tensor).dataSync()).toEqual(before);
  });
});
