/**
 * A WebGPU adapter in Node, through dawn.node (the optional `webgpu`
 * package): a GPU through its Vulkan driver (NVIDIA, AMD, Intel; the CUDA
 * version plays no part), else Mesa's software OpenGL ES (llvmpipe), which
 * needs no display (EGL_PLATFORM=surfaceless) and lets CI test this path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackendError } from '../../util/errors.js';
import { captureDawnTicks } from './dawn-ticks.js';

export interface AdapterInfo {
  /** The adapter's device name, e.g. "NVIDIA H200" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  name: string;
  /** Driver and API, as the adapter describes itself. */
  description: string;
  /** The graphics API dawn.node drives it through. */
  api: 'vulkan' | 'opengles';
  /** A CPU rasterizer rather than a GPU. */
  software: boolean;
  /** The index among this machine's GPUs (--gpus), for a hardware adapter. */
  index?: number;
  /** The index asked for, where dawn.node took another GPU of the same name. */
  asked?: number;
}

export interface OpenedAdapter {
  gpu: GPU;
  adapter: GPUAdapter;
  info: AdapterInfo;
}

interface Dawn {
  create(flags: string[]): GPU;
  globals: object;
}

export const WEBGPU_MISSING = 'backend "webgpu" needs the package webgpu (Dawn for Node), an optional dependency that is not installed here: npm install webgpu';
export const WEBGPU_DRIVERS = "a GPU's Vulkan driver (libvulkan.so.1 and the vendor's ICD), or for software rendering Mesa's EGL and OpenGL ES (Debian: apt-get install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri)";

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader/i;

let dawn: Promise<Dawn | undefined> | undefined;

/** dawn.node, once per process; undefined where the package is missing or its binary does not load. */
export function loadDawn(): Promise<Dawn | undefined> {
  dawn ??= (async () => {
    try {
      captureDawnTicks(); // before dawn.node schedules anything
      const mod = (await import('webgpu' as string)) as Dawn;
      Object.assign(globalThis, mod.globals); // GPUBufferUsage, GPUMapMode…, which tfjs reads as globals
      return mod;
    } catch {
      return undefined;
    }
  })();
  return dawn;
}

/** Whether the Vulkan loader is installed, so that asking dawn.node for Vulkan does not print a failure on machines without one. */
export function vulkanLoaderPresent(): boolean {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

/**
 * The Vulkan adapters dawn.node sees, in its order. WebGPU has no call that
 * lists adapters; dawn.node lists them in the error for an adapter name
 * that matches none, and that list is parsed here.
 */
export async function vulkanAdapters(d: Dawn): Promise<{ name: string; software: boolean }[]> {
  try {
    await d.create(['backend=vulkan', 'adapter=dtrain: list the adapters']).requestAdapter();
    return [];
  } catch (e) {
    const listed = [...String(e instanceof Error ? e.message : e).matchAll(/\* backend: '([^']*)', name: '([^']*)'/g)];
    return listed.filter((m) => m[1] === 'vulkan').map((m) => ({ name: m[2], software: SOFTWARE.test(m[2]) }));
  }
}

function describe(adapter: GPUAdapter, api: AdapterInfo['api'], index?: number): AdapterInfo {
  const info = adapter.info;
  const name = info.device || info.description || info.vendor || 'unknown adapter';
  const software = SOFTWARE.test(`${info.device} ${info.description}`) || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { name, description: info.description, api, software, ...(index === undefined ? {} : { index }) };
}

/** This machine's GPUs as webgpu sees them: Vulkan adapters that are not software rasterizers. */
async function gpusOf(d: Dawn): Promise<{ name: string }[]> {
  return vulkanLoaderPresent() ? (await vulkanAdapters(d)).filter((a) => !a.software) : [];
}

function noGpu(index: number, gpus: { name: string }[]): BackendError {
  const why = gpus.length > 0 ? `this machine's: ${gpus.map((g, i) => `${i} ${g.name}`).join(', ')}` : vulkanLoaderPresent() ? 'the Vulkan loader lists none' : 'no Vulkan loader (libvulkan.so.1) is installed';
  return new BackendError(`webgpu: GPU ${index} was asked for (--gpus, cluster.gpus or --gpu), but no such GPU is reachable through Vulkan: ${why}. Without GPU indices, webgpu renders in software`);
}

/**
 * Before anything starts (`dtrain run`): the package loads and every GPU
 * index asked for exists, else a BackendError that says what is missing.
 */
export async function checkWebGPU(indices: number[] = []): Promise<void> {
  const d = await loadDawn();
  if (!d) throw new BackendError(WEBGPU_MISSING);
  if (indices.length === 0) return;
  const gpus = await gpusOf(d);
  const missing = indices.find((i) => i >= gpus.length);
  if (missing !== undefined) throw noGpu(missing, gpus);
}

async function hardware(d: Dawn, index: number | undefined): Promise<OpenedAdapter | undefined> {
  const gpus = await gpusOf(d);
  const k = index ?? 0;
  if (gpus.length === 0) return undefined;
  if (k >= gpus.length) throw noGpu(k, gpus);
  // dawn.node picks the first adapter whose name contains the one given: GPUs of one model share
  // a name, and then every index gets the first (README, "GPUs"); the label names the one taken.
  const gpu = d.create(['backend=vulkan', `adapter=${gpus[k].name}`]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  const taken = gpus.findIndex((g) => g.name.includes(gpus[k].name));
  return { gpu, adapter, info: { ...describe(adapter, 'vulkan', taken), ...(taken !== k ? { asked: k } : {}) } };
}

async function software(d: Dawn): Promise<OpenedAdapter | undefined> {
  process.env.EGL_PLATFORM ??= 'surfaceless'; // no display: EGL renders off-screen
  const gpu = d.create(['backend=opengles']);
  // OpenGL ES offers WebGPU's compatibility level only.
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions).catch(() => null);
  return adapter ? { gpu, adapter, info: describe(adapter, 'opengles') } : undefined;
}

/**
 * The adapter a worker computes on: the GPU of index `gpu` (0 where none is
 * given), else software rendering unless `hardwareOnly`. Throws a
 * BackendError that says what is missing.
 */
export async function openAdapter(o: { gpu?: number; hardwareOnly?: boolean }): Promise<OpenedAdapter | undefined> {
  const d = await loadDawn();
  if (!d) throw new BackendError(WEBGPU_MISSING);
  const found = await hardware(d, o.gpu);
  if (found || o.hardwareOnly) return found;
  if (o.gpu !== undefined) throw noGpu(o.gpu, []);
  return software(d);
}
