/**
 * Synchronous waits on dawn.node (the `webgpu` package). tfjs reads tensors
 * synchronously (dataSync) in the middle of a step, where the event loop
 * cannot turn; a buffer map, though, completes only when dawn.node processes
 * its instance's events, which it schedules through the global setImmediate
 * with a nameless native function (src/dawn/node/binding/AsyncRunner.cpp).
 *
 * captureDawnTicks wraps setImmediate so that such functions are kept until
 * they run: waitUntil calls them itself, as often as the GPU takes, and the
 * event loop's own call of one already called does nothing. Nothing else
 * that setImmediate schedules is touched, and nothing runs out of turn.
 */
import { BackendError } from '../../util/errors.js';

type Tick = () => void;

const realSetImmediate = globalThis.setImmediate;
/** dawn.node's scheduled callbacks not yet run: its event processing, and now and then a promise's rejection. */
const waiting: Tick[] = [];
const ran = new WeakSet<Tick>();
let installed = false;

/** dawn.node's callbacks are native functions without a name (a bound function is named "bound …"). */
function isDawnTick(fn: unknown): fn is Tick {
  return typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).includes('[native code]');
}

/** Runs a scheduled callback once: either a wait or the event loop gets to it first. */
function runOnce(fn: Tick): void {
  if (ran.has(fn)) return;
  ran.add(fn);
  const i = waiting.indexOf(fn);
  if (i >= 0) waiting.splice(i, 1);
  fn();
}

/** Installs the wrapper; call before dawn.node schedules its first tick (before `create`). */
export function captureDawnTicks(): void {
  if (installed) return;
  installed = true;
  const wrapped = (fn: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate => {
    if (!isDawnTick(fn)) return realSetImmediate(fn, ...args);
    waiting.push(fn);
    return realSetImmediate(() => runOnce(fn));
  };
  globalThis.setImmediate = Object.assign(wrapped, { __promisify__: realSetImmediate.__promisify__ }) as typeof setImmediate;
}

/** Processes dawn.node's events until `done()`, for at most `timeoutMs` (a GPU that hangs fails the step, naming `what`). */
export function waitUntil(done: () => boolean, what: string, timeoutMs: number): number {
  const deadline = performance.now() + timeoutMs;
  let ticks = 0;
  while (!done()) {
    const due = waiting.splice(0);
    if (due.length === 0) throw new BackendError(`webgpu: ${what}: dawn.node has no event processing scheduled (setImmediate was replaced after the backend started?)`);
    if (performance.now() > deadline) throw new BackendError(`webgpu: ${what} did not complete within ${timeoutMs / 1000} s`);
    for (const fn of due) runOnce(fn);
    ticks++;
  }
  return ticks;
}
