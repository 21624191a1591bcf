/**
 * tfjs's webgpu backend with a synchronous read that works in Node. Its own
 * readSync draws through an OffscreenCanvas, which Node has not; this one
 * copies the tensor's buffer into a staging buffer, maps it and waits for the
 * map on the spot (dawn-ticks.ts), as its asynchronous read does with await.
 */
import type { BackendValues, DataType } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { waitUntil } from './dawn-ticks.js';

/** A map waits this long at most: longer than any one step's GPU work. */
const MAP_TIMEOUT_MS = 300_000;

type BackendClass = typeof WebGPUBackend;
type Data = { values?: BackendValues; dtype: DataType; resource?: unknown };

/** The backend class, built on the package's (loaded only when webgpu is asked for). */
export function withSyncRead(Base: BackendClass): BackendClass {
  return class NodeWebGPUBackend extends Base {
    override readSync(dataId: object): BackendValues {
      const data = this.tensorMap.get(dataId) as Data;
      if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return super.readSync(dataId);
      const values = tf.util.convertBackendValuesAndArrayBuffer(this.readBuffer(data.resource as GPUBuffer), data.dtype);
      data.values = values; // kept on the CPU, as the asynchronous read does
      return values;
    }

    private readBuffer(buffer: GPUBuffer): ArrayBuffer {
      const staging = this.bufferManager.acquireBuffer(buffer.size, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ);
      this.ensureCommandEncoderReady();
      this.endComputePassEncoder();
      // The package's own encoder (private in its types), so the copy follows the step's queued work, as in its getBufferData.
      (this as unknown as { commandEncoder: GPUCommandEncoder }).commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
      this.submitQueue();
      try {
        staging.mapAsync(GPUMapMode.READ).catch(() => undefined); // a failed map shows in mapState
        waitUntil(() => staging.mapState !== 'pending', 'reading a tensor back', MAP_TIMEOUT_MS);
        if (staging.mapState !== 'mapped') throw new Error(`webgpu: mapping a buffer for reading failed (the device may be lost)`);
        return staging.getMappedRange().slice(0);
      } finally {
        if (staging.mapState === 'mapped') staging.unmap();
        // A map still pending (a timeout) leaves the buffer unusable: destroyed, not pooled.
        this.bufferManager.releaseBuffer(staging, staging.mapState === 'unmapped');
      }
    }
  };
}
