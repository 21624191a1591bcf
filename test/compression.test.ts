/**
 * Gradient compression (cluster.compression): 16-bit floats rounded to
 * nearest, ties to even, checked against an independent search of the
 * neighbouring representable values; every 16-bit pattern decodes and
 * encodes back to itself; the ring sums with compression leave every
 * replica bit for bit the same, within the rounding of the exact sum, and
 * error feedback brings the mean of many steps back to the exact sum. The
 * exact path is untouched when the sum is not compressed.
 */
import { describe, expect, it } from 'vitest';
import { dtrainRun, equivalenceRuns } from './helpers/dtrain-run.js';
import { relativeDiff } from './helpers/reference.js';
import { parseJobSpec } from '../src/jobs/registry.js';
import { fromHalf, toHalf, type HalfFormat } from '../src/tensor/half.js';
import { memoryRing } from '../src/wire/memory-transport.js';
import { RingReducer } from '../src/worker/reducers/ring.js';
import { Rng } from '../src/util/rng.js';

const decode = (format: HalfFormat, h: number) => {
  const out = new Float32Array(1);
  fromHalf(format, Uint16Array.of(h), out);
  return out[0];
};
const encode = (format: HalfFormat, x: number) => {
  const out = new Uint16Array(1);
  toHalf(format, Float32Array.of(x), out);
  return out[0];
};

describe('16-bit floats', () => {
  for (const format of ['bf16', 'fp16'] as const) {
    it(`${format}: every pattern decodes and encodes back to itself (NaN stays NaN${format === 'fp16' ? '; ±∞ saturates to ±65504' : ''})`, () => {
      for (let h = 0; h < 65536; h++) {
        const x = decode(format, h);
        const back = encode(format, x);
        if (Number.isNaN(x)) expect(Number.isNaN(decode(format, back))).toBe(true);
        else if (!Number.isFinite(x) && format === 'fp16') expect(decode(format, back)).toBe(Math.sign(x) * 65504);
        else expect(back, `pattern ${h}`).toBe(h);
      }
    });

    it(`${format}: rounds to the nearest representable value, ties to even (checked against its neighbours)`, () => {
      const rng = new Rng(format === 'bf16' ? 1 : 2);
      const max = format === 'bf16' ? 3e38 : 65504;
      const samples: number[] = [];
      for (let i = 0; i < 20000; i++) samples.push(Math.fround(rng.normal() * 10 ** Math.floor(rng.next() * (format === 'bf16' ? 60 : 14) - (format === 'bf16' ? 30 : 9))));
      // Exact ties: the midpoints between neighbouring values.
      for (let h = 1; h < 0x7b00; h += 97) samples.push(Math.fround((decode(format, h) + decode(format, h + 1)) / 2));
      for (const x of samples) {
        if (Math.abs(x) > max) continue;
        const h = encode(format, x);
        const got = decode(format, h);
        // The neighbours of the chosen value, in the same sign's pattern range.
        const neighbours = [h - 1, h + 1].filter((n) => (n & 0x7fff) !== 0x7fff && n >= 0 && n < 65536 && (n & 0x8000) === (h & 0x8000)).map((n) => decode(format, n));
        for (const n of neighbours) {
          if (!Number.isFinite(n)) continue;
          const [dGot, dN] = [Math.abs(x - got), Math.abs(x - n)];
          expect(dGot, `${x}: chose ${got}, ${n} is nearer`).toBeLessThanOrEqual(dN);
          if (dGot === dN && got !== n) expect(h & 1, `${x}: a tie goes to the even pattern`).toBe(0);
        }
      }
    });
  }

  it('fp16 saturates, flushes below its smallest subnormal and keeps its subnormals', () => {
    expect([70000, -1e9, 65519, 65520].map((x) => decode('fp16', encode('fp16', x)))).toEqual([65504, -65504, 65504, 65504]);
    expect(decode('fp16', encode('fp16', 2 ** -24))).toBe(2 ** -24);
    expect(decode('fp16', encode('fp16', 2 ** -25))).toBe(0); // a tie, to even: zero
    expect(decode('fp16', encode('fp16', 1.5 * 2 ** -25))).toBe(2 ** -24);
    expect(decode('fp16', encode('fp16', 1e-9))).toBe(0);
    expect(Object.is(decode('fp16', encode('fp16', -1e-9)), -0)).toBe(true);
  });
});

async function ringSums(n: number, inputs: Float32Array[], steps: number, compression?: HalfFormat): Promise<Float32Array[][]> {
  const links = memoryRing(n);
  const reducers = links.map((link, rank) => new RingReducer({ rank, size: n, link, chunkBytes: 256, compression }));
  const out: Float32Array[][] = [];
  for (let s = 0; s < steps; s++) {
    const bufs = inputs.map((x) => x.slice());
    await Promise.all(reducers.map((r, rank) => r.allReduce(bufs[rank], true)));
    out.push(bufs);
  }
  for (const r of reducers) r.close();
  return out;
}

describe('compressed ring sums', () => {
  const n = 3;
  const len = 1001;
  const rng = new Rng(7);
  const inputs = Array.from({ length: n }, () => Float32Array.from({ length: len }, () => rng.normal() * 10 ** -(Math.floor(rng.next() * 4))));
  const exact = Float64Array.from({ length: len }, (_, i) => inputs.reduce((s, x) => s + x[i], 0));

  for (const format of ['bf16', 'fp16'] as const) {
    it(`${format}, 3 workers: every replica the same bits, each value within the rounding of the exact sum, and error feedback brings the mean of 200 steps to it`, async () => {
      const steps = await ringSums(n, inputs, 200, format);
      const ulp = format === 'bf16' ? 2 ** -8 : 2 ** -11;
      let maxFirst = 0;
      const mean = new Float64Array(len);
      for (const [s, bufs] of steps.entries()) {
        for (const b of bufs.slice(1)) expect(Buffer.from(b.buffer).equals(Buffer.from(bufs[0].buffer))).toBe(true);
        for (let i = 0; i < len; i++) {
          mean[i] += bufs[0][i] / steps.length;
          // A step's error: rounding of each contribution and of each forwarded partial sum, relative to the largest term.
          const scale = Math.max(...inputs.map((x) => Math.abs(x[i])), 1e-6);
          if (s === 0) maxFirst = Math.max(maxFirst, Math.abs(bufs[0][i] - exact[i]) / scale);
        }
      }
      expect(maxFirst).toBeLessThan(4 * ulp);
      expect(maxFirst).toBeGreaterThan(0); // the comparison can fail: one step is not exact
      let maxMean = 0;
      for (let i = 0; i < len; i++) maxMean = Math.max(maxMean, Math.abs(mean[i] - exact[i]) / Math.max(...inputs.map((x) => Math.abs(x[i])), 1e-6));
      expect(maxMean).toBeLessThan(maxFirst / 10);
    });
  }

  it('without compress the same ring sums exactly as before (float32, compression configured or not)', async () => {
    const links = memoryRing(n);
    const reducers = links.map((link, rank) => new RingReducer({ rank, size: n, link, chunkBytes: 256, compression: 'bf16' }));
    const bufs = inputs.map((x) => x.slice());
    await Promise.all(reducers.map((r, rank) => r.allReduce(bufs[rank])));
    for (const r of reducers) r.close();
    const plain = await ringSums(n, inputs, 1);
    // Batch-norm statistics and broadcasts use this path: bit for bit the uncompressed ring.
    for (let k = 0; k < n; k++) expect(Array.from(bufs[k])).toEqual(Array.from(plain[0][k]));
  });

  it('a job that compresses with strategy ps is refused, naming the key', () => {
    expect(() => parseJobSpec({ name: 'c', data: { source: 'synthetic', kind: 'blobs', samples: 100, features: 2, classes: 2 }, model: { zoo: 'mlp', hidden: [4] }, cluster: { strategy: 'ps', compression: 'bf16' } }, 'job')).toThrow(/cluster\.compression.*strategy ring/s);
  });
});

describe('cluster.compression in a real run', () => {
  const tmp = equivalenceRuns();
  it('3 workers, bf16: the replicas agree (the coordinator checks their CRCs before saving), and the weights stay near the uncompressed run without equalling it', async () => {
    const job = {
      name: 'compressed',
      seed: 5,
      data: { source: 'synthetic', kind: 'blobs', samples: 620, features: 6, classes: 3, noise: 1.5 },
      model: { zoo: 'mlp', hidden: [32, 16] },
      train: { maxSteps: 30, epochs: 3, batchSize: 50, optimizer: { name: 'sgd', lr: 0.05 } },
      cluster: { backend: 'wasm', chunkBytes: 4096, compression: 'bf16' },
    };
    const compressed = await dtrainRun(tmp.dir, job, ['--workers', '3'], 'bf16-3');
    const plain = await dtrainRun(tmp.dir, { ...job, cluster: { ...job.cluster, compression: 'none' } }, ['--workers', '3'], 'none-3');
    const d = relativeDiff(compressed, plain);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(1e-2);
  });
});
