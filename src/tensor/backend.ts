/**
 * Compute backends. tfjs-node(-gpu) download libtensorflow when installed, so
 * they are optional and loaded dynamically; wasm and cpu always exist. The
 * wasm backend gets dtrain's training kernels (src/tensor/kernels) before it
 * starts, which is what makes it train CNNs and run several times faster.
 * webgpu runs on a GPU's Vulkan driver, or in software, through the optional
 * `webgpu` package (src/tensor/webgpu).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../util/errors.js';
import { registerWasmTrainingKernels } from './kernels/wasm.js';
import { registerTileGradient } from './kernels/tile-gradient.js';
import { matmulGflops } from './probe.js';
import { adapterLabel, startWebGPU } from './webgpu/start.js';
import { vulkanLoaderPresent } from './webgpu/adapter.js';

export type BackendRequest = 'auto' | 'cpu' | 'wasm' | 'tensorflow' | 'webgpu';

export interface BackendChoice {
  /** The tfjs backend name that is active: tensorflow, webgpu, wasm or cpu. */
  name: string;
  /** Why this one, for the log. */
  reason: string;
  /** webgpu: the adapter, e.g. "NVIDIA H200 (vulkan)". */
  adapter?: string;
}

/** Where the backend computes: for webgpu, the GPU by index (--gpus). */
export interface BackendPlace {
  gpu?: number;
}

export const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Loads a package by a name the compiler cannot see, so a missing optional dependency is a runtime case. */
export async function tryImport(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

export async function activate(name: string, place: BackendPlace = {}): Promise<boolean> {
  // Production mode: no debug checks, and no console banner urging tfjs-node
  // (dtrain logs which backend it chose and why).
  tf.enableProdMode();
  if (name === 'wasm') registerWasmTrainingKernels();
  // Every process that trains computes Tile's gradient the same, fast way (a loaded tfjs-node registers tfjs-core's again).
  registerTileGradient();
  if (name === 'webgpu') await startWebGPU(place);
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** The tfjs-node package installed here, if any. */
export async function installedNodeBackend(): Promise<string | undefined> {
  for (const pkg of NODE_PACKAGES) if (await tryImport(pkg)) return pkg;
  return undefined;
}

export const TENSORFLOW_MISSING = 'backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, which are not installed: npm install @tensorflow/tfjs-node';

/**
 * `auto`'s GPU: webgpu where a hardware adapter exists and multiplies faster
 * than wasm (both probed here); undefined otherwise, without loading dawn.node
 * where no Vulkan loader is installed.
 */
async function autoWebGPU(place: BackendPlace): Promise<BackendChoice | undefined> {
  if (!vulkanLoaderPresent()) return undefined;
  const adapter = await startWebGPU({ ...place, hardwareOnly: true }).catch(() => undefined);
  if (!adapter || !(await activate('wasm'))) return undefined;
  const wasm = matmulGflops();
  if (!(await activate('webgpu', place))) return undefined;
  const gpu = matmulGflops();
  const label = adapterLabel(adapter);
  if (gpu > wasm) return { name: 'webgpu', reason: `auto: webgpu on ${label} multiplies at ${gpu.toFixed(0)} GFLOP/s, wasm at ${wasm.toFixed(0)}`, adapter: label };
  await activate('wasm');
  return { name: 'wasm', reason: `auto: wasm multiplies at ${wasm.toFixed(0)} GFLOP/s, webgpu on ${label} at ${gpu.toFixed(0)}` };
}

/** Activates a backend: the one requested, or under `auto` the fastest installed (measured: `npm run bench -- compute`). */
export async function initBackend(request: BackendRequest, place: BackendPlace = {}): Promise<BackendChoice> {
  if (request === 'webgpu') {
    if (!(await activate('webgpu', place))) throw new BackendError('backend "webgpu" failed to start');
    const adapter = adapterLabel((await startWebGPU(place))!);
    return { name: 'webgpu', reason: `requested; adapter ${adapter}`, adapter };
  }
  if (request === 'tensorflow') {
    for (const pkg of NODE_PACKAGES) if ((await tryImport(pkg)) && (await activate('tensorflow'))) return { name: 'tensorflow', reason: `requested; ${pkg}` };
    throw new BackendError(TENSORFLOW_MISSING);
  }
  if (request === 'cpu' || request === 'wasm') {
    if (await activate(request)) return { name: request, reason: 'requested' };
    throw new BackendError(`backend "${request}" failed to start`);
  }
  for (const pkg of NODE_PACKAGES) {
    if ((await tryImport(pkg)) && (await activate('tensorflow'))) return { name: 'tensorflow', reason: `auto: ${pkg} is installed` };
  }
  const gpu = await autoWebGPU(place);
  if (gpu) return gpu;
  if (await activate('wasm')) return { name: 'wasm', reason: 'auto: tfjs-node is not installed and no GPU is reachable through webgpu; wasm with dtrain kernels is the fastest installed backend' };
  if (await activate('cpu')) return { name: 'cpu', reason: 'auto: tfjs-node is not installed and wasm failed to start' };
  throw new BackendError('no tfjs backend could be started');
}
