/**
 * Synchronous waits on dawn.node (the `webgpu` package). tfjs reads tensors
 * synchronously (dataSync) in the middle of a step, where the event loop
 * cannot turn; a buffer map, though, completes only when dawn.node processes
 * its instance's events, which it schedules through the global setImmediate
 * with a nameless native function (src/dawn/node/binding/AsyncRunner.cpp).
 *
 * captureDawnTicks wraps setImmediate so that the latest such function is
 * kept: waitUntil calls it itself, as often as the GPU takes, and the event
 * loop's own call of a function already called does nothing. Nothing else
 * that setImmediate schedules is touched, and nothing runs out of turn.
 */
import { BackendError } from '../../util/errors.js';

type Tick = () => void;

const realSetImmediate = globalThis.setImmediate;
let pending: Tick | undefined;
let installed = false;

/** dawn.node's event-processing callback: a native function without a name (a bound function is named "bound …"). */
function isDawnTick(fn: unknown): fn is Tick {
  return typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).includes('[native code]');
}

/** Installs the wrapper; call before dawn.node schedules its first tick (before `create`). */
export function captureDawnTicks(): void {
  if (installed) return;
  installed = true;
  const wrapped = (fn: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate => {
    if (!isDawnTick(fn)) return realSetImmediate(fn, ...args);
    pending = fn;
    return realSetImmediate(() => {
      if (pending !== fn) return; // already called by a wait
      pending = undefined;
      fn();
    });
  };
  globalThis.setImmediate = Object.assign(wrapped, { __promisify__: realSetImmediate.__promisify__ }) as typeof setImmediate;
}

/** Processes dawn.node's events until `done()`, for at most `timeoutMs` (a GPU that hangs fails the step, naming `what`). */
export function waitUntil(done: () => boolean, what: string, timeoutMs: number): number {
  const deadline = performance.now() + timeoutMs;
  let ticks = 0;
  while (!done()) {
    const tick = pending;
    if (!tick) throw new BackendError(`webgpu: ${what}: dawn.node has no event processing scheduled (setImmediate was replaced after the backend started?)`);
    if (performance.now() > deadline) throw new BackendError(`webgpu: ${what} did not complete within ${timeoutMs / 1000} s`);
    pending = undefined;
    tick();
    ticks++;
  }
  return ticks;
}
