/**
 * `npm run bench -- optimizers [--size N]`: one optimizer step on N flat
 * parameters (default: the quick-start MLP's 247,766) by the WebAssembly
 * SIMD kernels against the reference JavaScript loops, measured in the same
 * run, interleaved, medians of 7 rounds; the ratio is the loops' time over
 * the kernels'. The kernels' time includes copying the parameters and
 * gradients into their memory and the parameters back.
 */
import { trainSchema } from '../src/spec/job-spec.js';
import { makeOptimizer, type KernelChoice } from '../src/tensor/optimizers/index.js';
import { middle } from './run-step-ms.js';

const SPECS = [
  { name: 'sgd', lr: 0.1 },
  { name: 'momentum', lr: 0.05, momentum: 0.9 },
  { name: 'adagrad', lr: 0.1 },
  { name: 'rmsprop', lr: 0.01 },
  { name: 'adam', lr: 0.001 },
];

export async function benchOptimizers(args: string[]): Promise<void> {
  const i = args.indexOf('--size');
  const n = i >= 0 ? Number(args[i + 1]) : 247_766;
  if (!Number.isInteger(n) || n < 1) throw new Error('--size must be a whole number ≥ 1');
  const p = Float32Array.from({ length: n }, (_, k) => Math.sin(k));
  const g = Float32Array.from({ length: n }, (_, k) => Math.cos(k) * 1e-2);
  const reps = Math.max(3, Math.round(5e7 / n));
  console.log(`one optimizer step on ${n.toLocaleString('en')} parameters; medians of 7 interleaved rounds of ${reps} steps`);
  console.log('optimizer   js loops ms   simd kernels ms   ns/param (simd)   ratio');
  for (const raw of SPECS) {
    const spec = trainSchema.parse({ optimizer: raw }).optimizer;
    const make = (k: KernelChoice) => makeOptimizer(spec, n, k);
    const opts = { js: make('js'), simd: make('simd') };
    const times: Record<KernelChoice, number[]> = { js: [], simd: [] };
    for (let r = 0; r < 8; r++) {
      for (const k of ['js', 'simd'] as const) {
        const params = p.slice();
        const t0 = performance.now();
        for (let s = 0; s < reps; s++) opts[k].step(params, g, spec.lr, 1 / 128);
        if (r > 0) times[k].push((performance.now() - t0) / reps); // round 0 warms up
      }
    }
    const [js, simd] = [middle(times.js), middle(times.simd)];
    console.log(`${spec.name.padEnd(10)}  ${js.toFixed(3).padStart(11)}   ${simd.toFixed(3).padStart(15)}   ${((simd * 1e6) / n).toFixed(2).padStart(15)}   ${(js / simd).toFixed(1).padStart(5)}`);
  }
}
