/** dtrain's wasm training kernels against the cpu backend, on random shapes. */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '../src/tensor/kernels/wasm.js';
import { Rng } from '../src/util/rng.js';
import { relativeDiff } from './helpers/reference.js';
import { filterGrad, info, inputGrad, type Geometry } from './helpers/conv-reference.js';

const TOL = 1e-4;

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function random(shape: number[], seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal());
}

/** Runs fn on a backend with fresh tensors built from plain arrays; returns the results' values. */
async function on(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  // Copied out through a variable: tf.tidy would walk a returned typed array element by element.
  let out: Float32Array[] = [];
  tf.tidy(() => void (out = fn().map((t) => t.dataSync() as Float32Array)));
  return out;
}

async function compareBackends(fn: () => tf.Tensor[]): Promise<void> {
  const cpu = await on('cpu', fn);
  const wasm = await on('wasm', fn);
  cpu.forEach((c, i) => {
    expect(wasm[i].length).toBe(c.length);
    expect(relativeDiff(wasm[i], c)).toBeLessThanOrEqual(TOL);
  });
}

type Pad = 'same' | 'valid';
const convCases: { b: number; h: number; w: number; cin: number; k: [number, number]; cout: number; s: number; d: number; pad: Pad }[] = [
  { b: 1, h: 7, w: 7, cin: 1, k: [3, 3], cout: 4, s: 1, d: 1, pad: 'same' },
  { b: 3, h: 9, w: 8, cin: 3, k: [3, 3], cout: 5, s: 2, d: 1, pad: 'same' },
  { b: 2, h: 10, w: 11, cin: 2, k: [3, 2], cout: 3, s: 2, d: 1, pad: 'valid' },
  { b: 3, h: 12, w: 9, cin: 4, k: [3, 3], cout: 2, s: 1, d: 2, pad: 'same' },
  { b: 5, h: 8, w: 8, cin: 3, k: [2, 2], cout: 6, s: 1, d: 2, pad: 'valid' },
  { b: 1, h: 5, w: 6, cin: 5, k: [5, 5], cout: 3, s: 1, d: 1, pad: 'valid' },
  { b: 7, h: 28, w: 28, cin: 1, k: [3, 3], cout: 8, s: 1, d: 1, pad: 'same' },
  { b: 3, h: 11, w: 10, cin: 3, k: [4, 3], cout: 4, s: 3, d: 1, pad: 'same' },
  { b: 2, h: 13, w: 12, cin: 2, k: [3, 3], cout: 3, s: 2, d: 1, pad: 'same' },
  { b: 1, h: 9, w: 9, cin: 2, k: [4, 4], cout: 2, s: 2, d: 1, pad: 'valid' },
];

/** Runs a kernel directly on the wasm backend (tfjs's own gradients refuse dilation > 1). */
function wasmKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): Float32Array {
  let out: Float32Array = new Float32Array(0);
  tf.tidy(() => void (out = (tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dataSync() as Float32Array));
  return out;
}

describe('Conv2D gradients on wasm', () => {
  for (const c of convCases) {
    const g: Geometry = { x: [c.b, c.h, c.w, c.cin], k: c.k, out: c.cout, s: c.s, d: c.d, pad: c.pad, depthwise: false };
    const name = `x[${g.x}] filter ${c.k}×${c.cout} stride ${c.s} dilation ${c.d} ${c.pad}`;
    it(`${name}: Conv2DBackpropFilter equals float64`, async () => {
      await tf.setBackend('wasm');
      const inf = info(g);
      const xv = random(g.x, 1);
      const dyv = random(inf.outShape, 3);
      const got = wasmKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, g.x as [number, number, number, number]), dy: tf.tensor(dyv, inf.outShape) }, {
        strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: c.d, filterShape: [...c.k, c.cin, c.cout],
      });
      expect(relativeDiff(got, filterGrad(g, xv, dyv))).toBeLessThanOrEqual(TOL);
    });
    it(`${name}: Conv2DBackpropInput equals float64`, async () => {
      await tf.setBackend('wasm');
      const inf = info(g);
      const wv = random([...c.k, c.cin, c.cout], 2);
      const dyv = random(inf.outShape, 3);
      const got = wasmKernel('Conv2DBackpropInput', { dy: tf.tensor(dyv, inf.outShape), filter: tf.tensor4d(wv, [...c.k, c.cin, c.cout]) }, {
        strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: c.d, inputShape: g.x,
      });
      expect(relativeDiff(got, inputGrad(g, wv, dyv))).toBeLessThanOrEqual(TOL);
    });
    if (c.d === 1) {
      it(`${name}: tf.grads of conv2d equal the cpu backend's`, async () => {
        const xv = random(g.x, 1);
        const fv = random([...c.k, c.cin, c.cout], 2);
        await compareBackends(() => {
          const x = tf.tensor4d(xv, g.x as [number, number, number, number]);
          const f = tf.tensor4d(fv, [...c.k, c.cin, c.cout]);
          const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad);
          const out = conv(x, f);
          const r = tf.tensor(random(out.shape, 3), out.shape);
          return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r)))([x, f]);
        });
      });
    }
  }
});

describe('depthwise convolution gradients on wasm equal float64', () => {
  const cases = [
    { b: 1, h: 6, w: 6, cin: 2, m: 1, k: 3, s: 1, d: 1, pad: 'same' as Pad },
    { b: 3, h: 9, w: 7, cin: 3, m: 2, k: 3, s: 2, d: 1, pad: 'same' as Pad },
    { b: 2, h: 10, w: 10, cin: 2, m: 3, k: 2, s: 1, d: 2, pad: 'valid' as Pad },
    { b: 5, h: 7, w: 8, cin: 4, m: 1, k: 3, s: 2, d: 1, pad: 'valid' as Pad },
    { b: 3, h: 11, w: 9, cin: 3, m: 2, k: 3, s: 1, d: 3, pad: 'same' as Pad },
  ];
  for (const c of cases) {
    const g: Geometry = { x: [c.b, c.h, c.w, c.cin], k: [c.k, c.k], out: c.m, s: c.s, d: c.d, pad: c.pad, depthwise: true };
    it(`x[${g.x}] ×${c.m} k${c.k} stride ${c.s} dilation ${c.d} ${c.pad}: filter and input gradients`, async () => {
      await tf.setBackend('wasm');
      const inf = info(g);
      const xv = random(g.x, 4);
      const wv = random([c.k, c.k, c.cin, c.m], 5);
      const dyv = random(inf.outShape, 6);
      const attrs = { strides: c.s, pad: c.pad, dilations: c.d, dataFormat: 'NHWC' };
      const dw = wasmKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor(xv, g.x), dy: tf.tensor(dyv, inf.outShape) }, { ...attrs, filterShape: [c.k, c.k, c.cin, c.m] });
      const dx = wasmKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dyv, inf.outShape), filter: tf.tensor(wv, [c.k, c.k, c.cin, c.m]) }, { ...attrs, inputShape: g.x });
      expect(relativeDiff(dw, filterGrad(g, xv, dyv))).toBeLessThanOrEqual(TOL);
      expect(relativeDiff(dx, inputGrad(g, wv, dyv))).toBeLessThanOrEqual(TOL);
    });
    if (c.d === 1) {
      it(`x[${g.x}] ×${c.m} stride ${c.s} ${c.pad}: tf.grads of depthwiseConv2d equal the cpu backend's`, async () => {
        const xv = random(g.x, 4);
        const fv = random([c.k, c.k, c.cin, c.m], 5);
        await compareBackends(() => {
          const conv = (a: tf.Tensor, b: tf.Tensor) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad);
          const x = tf.tensor(xv, g.x);
          const f = tf.tensor(fv, [c.k, c.k, c.cin, c.m]);
          const out = conv(x, f);
          const r = tf.tensor(random(out.shape, 6), out.shape);
          return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r)))([x, f]);
        });
      });
    }
  }
});

describe('MaxPoolGrad on wasm equals cpu', () => {
  const cases: { x: [number, number, number, number]; f: number; s: number; pad: Pad }[] = [
    { x: [3, 8, 8, 4], f: 2, s: 2, pad: 'valid' },
    { x: [2, 9, 7, 3], f: 3, s: 2, pad: 'same' },
    { x: [1, 10, 11, 2], f: 3, s: 1, pad: 'valid' },
    { x: [5, 7, 7, 1], f: 2, s: 2, pad: 'same' },
  ];
  for (const c of cases) {
    it(`x[${c.x}] pool ${c.f} stride ${c.s} ${c.pad} (overlapping windows and ties included)`, async () => {
      // Rounded values make ties, where the first maximum must win as on cpu.
      const xv = random(c.x, 12).map((v) => Math.round(v * 2) / 2);
      await compareBackends(() => {
        const x = tf.tensor4d(xv, c.x);
        const out = tf.maxPool(x, c.f, c.s, c.pad);
        const r = tf.tensor(random(out.shape, 13), out.shape);
        return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.f, c.s, c.pad), r)))(x)];
      });
    });
  }
});

describe('UnsortedSegmentSum on wasm equals cpu', () => {
  it('sums rows by segment, drops nothing, handles empty segments', async () => {
    const ids = Int32Array.from([3, 0, 3, 1, 0, 3, 5]);
    const xv = random([7, 4], 7);
    await compareBackends(() => [tf.unsortedSegmentSum(tf.tensor2d(xv, [7, 4]), tf.tensor1d(ids, 'int32'), 6)]);
  });
  it('is the gradient of gather (an embedding lookup)', async () => {
    const table = random([10, 3], 8);
    await compareBackends(() => {
      const t = tf.tensor2d(table, [10, 3]);
      const idx = tf.tensor1d([1, 4, 4, 9, 0, 1], 'int32');
      return [tf.grad((e: tf.Tensor) => tf.sum(tf.square(tf.gather(e, idx))))(t)];
    });
  });
});

describe('matrix products with transposed operands on wasm', () => {
  for (const [ta, tb] of [[true, false], [false, true], [true, true]]) {
    it(`transposeA=${ta} transposeB=${tb}, batched and fused, equal cpu`, async () => {
      const av = random([3, 17, 9], 9);
      const bv = random([3, 9, 13], 10);
      await compareBackends(() => {
        const a = tf.tensor3d(av, [3, 17, 9]);
        const b = tf.tensor3d(bv, [3, 9, 13]);
        const A = ta ? tf.transpose(a, [0, 2, 1]) : a;
        const B = tb ? tf.transpose(b, [0, 2, 1]) : b;
        const plain = tf.matMul(A, B, ta, tb);
        const bias = tf.tensor1d(random([13], 11));
        const fused = tf.fused.matMul({ a: A as tf.Tensor3D, b: B as tf.Tensor3D, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
        return [plain, fused];
      });
    });
  }
  it('leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const a = tf.randomNormal([8, 5]);
    const b = tf.randomNormal([8, 6]);
    tf.matMul(a, b, true, false).dispose();
    const step = () => {
      tf.matMul(a, b, true, false).dispose();
      tf.tidy(() => {
        tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(tf.ones([2, 5, 5, 1]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 2]));
      });
    };
    step();
    const before = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds(); // intermediates of composed kernels live here
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    tf.dispose([a, b]);
  });
});

/**
 * A kernel's output allocation may grow the wasm memory, which detaches every
 * heap view made before it: a kernel that viewed its inputs first read
 * nothing (MaxPoolGrad gave an all-zero gradient the first time a large
 * batch ran). Each case below makes an output larger than the whole heap, so
 * the allocation must grow it (asserted), then checks the values.
 */
describe('kernels whose output allocation grows the wasm memory', () => {
  const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  /** Runs a kernel on wasm; returns its output values and whether the heap grew during the call. */
  const grows = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => {
    const before = heapBytes();
    let grew = false;
    let values: Float32Array = new Float32Array(0);
    tf.tidy(() => {
      const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
      grew = heapBytes() > before;
      values = out.dataSync() as Float32Array;
    });
    tf.dispose(Object.values(inputs));
    return { values, grew };
  };

  it('UnsortedSegmentSum', async () => {
    await tf.setBackend('wasm');
    const segments = Math.ceil(heapBytes() / 4 / 1000) + 1000; // [segments, 1000] float32: more than the heap
    const { values, grew } = grows('UnsortedSegmentSum', { x: tf.tensor2d(Float32Array.from({ length: 2000 }, (_, i) => 1 + ((i % 1000) % 3) + 3 * Math.floor(i / 1000)), [2, 1000]), segmentIds: tf.tensor1d([segments - 1, 7], 'int32') }, { numSegments: segments });
    expect(grew).toBe(true);
    expect([...values.subarray(7000, 7003)]).toEqual([4, 5, 6]);
    expect([...values.subarray((segments - 1) * 1000, (segments - 1) * 1000 + 3)]).toEqual([1, 2, 3]);
    expect(values.subarray(0, 7000).every((v) => v === 0)).toBe(true);
  });

  it('DepthwiseConv2dNativeBackpropInput', async () => {
    await tf.setBackend('wasm');
    const side = Math.ceil(Math.sqrt(heapBytes() / 4 / 2)) + 64; // [1, side, side, 2] float32: more than the heap
    const s = 8;
    const o = Math.floor((side - 1) / s) + 1;
    const dy = tf.fill([1, o, o, 2], 1);
    const filter = tf.tensor4d([2, 3], [1, 1, 2, 1]);
    const { values, grew } = grows('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { strides: [s, s], pad: 'valid', dilations: 1, inputShape: [1, side, side, 2] });
    expect(grew).toBe(true);
    // A 1×1 filter of stride 8: dx[8i, 8j, c] = w[c], zero elsewhere.
    expect([...values.subarray(0, 4)]).toEqual([2, 3, 0, 0]);
    const at = ((s * 3) * side + s * 5) * 2;
    expect([...values.subarray(at, at + 2)]).toEqual([2, 3]);
  });

  it('MaxPoolGrad', async () => {
    await tf.setBackend('wasm');
    // x itself takes more than the heap had; the output, as large, needs the heap to grow again.
    const n = Math.ceil(heapBytes() / 4) + 1024 * 1024;
    const x = tf.reshape(tf.range(0, n), [1, 1, n, 1]);
    const dy = tf.fill([1, 1, n / 2 | 0, 1], 1);
    const { values, grew } = grows('MaxPoolGrad', { dy, input: x, output: tf.zeros([1, 1, n / 2 | 0, 1]) }, { filterSize: [1, 2], strides: [1, 2], pad: 'valid' });
    expect(grew).toBe(true);
    // Each window [2k, 2k + 1] of an increasing row has its maximum at 2k + 1.
    expect([...values.subarray(0, 6)]).toEqual([0, 1, 0, 1, 0, 1]);
    expect(values.reduce((a, v) => a + v, 0)).toBe(n / 2 | 0);
  });
});
