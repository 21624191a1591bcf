/**
 * Compute backends. tfjs-node(-gpu) download libtensorflow when installed, so
 * they are optional and loaded dynamically; wasm and cpu always exist.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { BackendError } from './errors.js';

export type BackendRequest = 'auto' | 'cpu' | 'wasm' | 'tensorflow';

export interface BackendChoice {
  /** The tfjs backend name that is active: tensorflow, wasm or cpu. */
  name: string;
  /** Why this one, for the log. */
  reason: string;
}

/** Loads a package by a name the compiler cannot see, so a missing optional dependency is a runtime case. */
async function tryImport(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

async function activate(name: string): Promise<boolean> {
  // Production mode: no debug checks, and no console banner urging tfjs-node
  // (dtrain logs which backend it chose and why).
  tf.enableProdMode();
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * Activates a backend. `needsConvGradients` rules out wasm under `auto`:
 * tfjs-backend-wasm has no Conv2DBackpropFilter kernel, so a CNN cannot train there.
 */
export async function initBackend(request: BackendRequest, opts: { needsConvGradients?: boolean } = {}): Promise<BackendChoice> {
  if (request === 'tensorflow') {
    if ((await tryImport('@tensorflow/tfjs-node-gpu')) || (await tryImport('@tensorflow/tfjs-node'))) {
      if (await activate('tensorflow')) return { name: 'tensorflow', reason: 'requested' };
    }
    throw new BackendError('backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu: npm install @tensorflow/tfjs-node');
  }
  if (request === 'cpu' || request === 'wasm') {
    if (await activate(request)) return { name: request, reason: 'requested' };
    throw new BackendError(`backend "${request}" failed to start`);
  }
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryImport(pkg)) && (await activate('tensorflow'))) return { name: 'tensorflow', reason: `auto: ${pkg} is installed` };
  }
  if (!opts.needsConvGradients && (await activate('wasm'))) {
    return { name: 'wasm', reason: 'auto: tfjs-node is not installed; wasm is the fastest installed backend' };
  }
  if (await activate('cpu')) {
    const why = opts.needsConvGradients ? 'the model has convolutions, whose gradients wasm lacks' : 'wasm failed to start';
    return { name: 'cpu', reason: `auto: tfjs-node is not installed and ${why}` };
  }
  throw new BackendError('no tfjs backend could be started');
}
