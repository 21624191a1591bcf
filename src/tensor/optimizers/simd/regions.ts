/**
 * The optimizers' SIMD kernels (kernels.wat), each instance with memory of
 * its own: regions of `size` float32 values (padded to a multiple of 4)
 * for the parameters, the gradients and the optimizer's slots. The slots
 * live there for good; a step copies the parameters and gradients in and
 * the parameters out, which costs far less than the arithmetic it saves
 * (bench: `npm run bench -- optimizers`).
 */
import { KERNELS_WASM } from './kernels-wasm.js';

// The project compiles without the DOM library, which is where TypeScript keeps
// WebAssembly's types: the little used here, declared.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

export interface KernelExports {
  memory: WasmMemory;
  sgd(n: number, nlr: number, scale: number): void;
  momentum(n: number, m: number, nesterov: number, nlr: number, scale: number): void;
  adagrad(n: number, eps: number, nlr: number, scale: number): void;
  rmsprop(n: number, decay: number, omd: number, momentum: number, eps: number, lr: number, scale: number): void;
  adam(n: number, b1: number, b2: number, ob1: number, ob2: number, c1: number, c2: number, eps: number, nlr: number, scale: number): void;
}

const PAGE = 65536;
/** Beyond this the JavaScript loops serve: wasm32 memory ends at 4 GiB, and a model this large spends its time elsewhere. */
const MAX_BYTES = 2 ** 31;
let compiled: object | undefined;

export class SimdRegions {
  /** Values per region: `size` rounded up to a multiple of 4. */
  readonly padded: number;
  readonly kernels: KernelExports;
  private readonly views: Float32Array[];

  private constructor(
    readonly size: number,
    regions: number,
  ) {
    this.padded = Math.ceil(size / 4) * 4;
    compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM, 'base64'));
    this.kernels = new WebAssembly.Instance(compiled, {}).exports as unknown as KernelExports;
    const bytes = regions * this.padded * 4;
    const have = this.kernels.memory.buffer.byteLength;
    if (bytes > have) this.kernels.memory.grow(Math.ceil((bytes - have) / PAGE));
    // Views are made after the memory has grown: growing detaches earlier ones, and it never grows again.
    this.views = Array.from({ length: regions }, (_, k) => new Float32Array(this.kernels.memory.buffer, k * this.padded * 4, size));
  }

  /** Kernels for `regions` regions of `size` values; undefined where WebAssembly SIMD is missing or the memory would be too large. */
  static tryMake(size: number, regions: number): SimdRegions | undefined {
    if (size === 0 || regions * Math.ceil(size / 4) * 16 > MAX_BYTES) return undefined;
    try {
      return new SimdRegions(size, regions);
    } catch {
      return undefined; // no SIMD in this engine, or no memory for it: the reference loops serve
    }
  }

  region(k: number): Float32Array {
    return this.views[k];
  }

  /** Copies the parameters and gradients in, runs `kernel` on the padded length, copies the parameters out. */
  run(p: Float32Array, g: Float32Array, kernel: (k: KernelExports, n: number) => void): void {
    if (p.length !== this.size || g.length !== this.size) throw new RangeError(`optimizer of ${this.size} values given ${p.length} parameters and ${g.length} gradients`);
    this.views[0].set(p);
    this.views[1].set(g);
    kernel(this.kernels, this.padded);
    p.set(this.views[0]);
  }
}
