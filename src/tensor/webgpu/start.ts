/**
 * `backend: webgpu`: tfjs's webgpu backend on a dawn.node adapter, with a
 * synchronous read that works in Node (sync-read.ts). Registered under the
 * name "webgpu", for which the package registers its kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../../util/errors.js';
import { openAdapter, WEBGPU_DRIVERS, type AdapterInfo, type OpenedAdapter } from './adapter.js';
import { withSyncRead } from './sync-read.js';

/** The limits tfjs asks of a device (its own factory's list), at the adapter's values. */
const LIMITS = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'] as const;

let started: AdapterInfo | undefined;

function exposeGpu(gpu: GPU): void {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  // Node 20 has no navigator; 21+ has one without gpu. tfjs checks navigator.gpu.
  if (!g.navigator) g.navigator = { gpu };
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
}

async function register(opened: OpenedAdapter): Promise<void> {
  exposeGpu(opened.gpu);
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  const Backend = withSyncRead(WebGPUBackend);
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu'); // the package's own, which asks for no compatibility adapter
  tf.registerBackend(
    'webgpu',
    async () => {
      const limits = opened.adapter.limits as unknown as Record<string, number>;
      const device = await opened.adapter.requestDevice({ requiredLimits: Object.fromEntries(LIMITS.map((k) => [k, limits[k]])) });
      return new Backend(device, opened.adapter.info);
    },
    0, // never tfjs's own default: dtrain always names its backend
  );
}

/**
 * Registers the webgpu backend once per process on the adapter `openAdapter`
 * finds, and returns that adapter (undefined: none, with `hardwareOnly`).
 */
export async function startWebGPU(o: { gpu?: number; hardwareOnly?: boolean } = {}): Promise<AdapterInfo | undefined> {
  if (started) return o.hardwareOnly && started.software ? undefined : started;
  const opened = await openAdapter(o);
  if (!opened) {
    if (o.hardwareOnly) return undefined;
    throw new BackendError(`webgpu: no adapter found; it needs ${WEBGPU_DRIVERS}`);
  }
  await register(opened);
  started = opened.info;
  return started;
}

/** How the adapter reads in logs and summary.json: "NVIDIA H200 (vulkan, GPU 0)", "llvmpipe … (opengles, software)". */
export function adapterLabel(a: AdapterInfo): string {
  const where = a.index === undefined ? '' : `, GPU ${a.index}${a.asked === undefined ? '' : ` although GPU ${a.asked} was asked for: dawn.node picks GPUs by name, and they share it`}`;
  return `${a.name} (${a.api}${a.software ? ', software' : ''}${where})`;
}
