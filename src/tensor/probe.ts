/** A short speed probe of the active tfjs backend, for `dtrain backends` and for `auto`'s choice between wasm and a GPU. */
import * as tf from '@tensorflow/tfjs-core';

export const PROBE_N = 256;
const PROBE_MS = 300;

/**
 * GFLOP/s of PROBE_N³ matrix products (read back each time) over about PROBE_MS.
 * The tidy returns nothing: tf.tidy walks a returned typed array element by
 * element looking for tensors, which alone costs more than the product.
 */
export function matmulGflops(): number {
  const a = tf.randomNormal([PROBE_N, PROBE_N]);
  const b = tf.randomNormal([PROBE_N, PROBE_N]);
  const product = () => tf.tidy(() => void tf.matMul(a, b).dataSync());
  product(); // warm-up: kernels compiled, memory allocated
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < PROBE_MS) {
    product();
    reps++;
  }
  const ms = (performance.now() - t0) / reps;
  tf.dispose([a, b]);
  return (2 * PROBE_N ** 3) / ms / 1e6;
}

