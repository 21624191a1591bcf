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
import { promisify } from 'node:util';
import { BackendError } from '../../util/errors.js';

type Tick = () => void;

/** One scheduling of a dawn.node callback: run once, by a wait or by the event loop. */
interface Scheduled {
  fn: Tick;
  done: boolean;
}

const realSetImmediate = globalThis.setImmediate;
/** dawn.node's scheduled callbacks not yet run: its event processing, and now and then a promise's rejection. */
let waiting: Scheduled[] = [];
let installed = false;

/** dawn.node's callbacks are native functions without a name (a bound function is named "bound …"). */
function isDawnTick(fn: unknown): fn is Tick {
  return typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).includes('[native code]');
}

function runOnce(s: Scheduled): void {
  if (s.done) return;
  s.done = true;
  waiting = waiting.filter((w) => w !== s);
  s.fn();
}

/** Installs the wrapper; call before dawn.node schedules its first tick (before `create`). */
export function captureDawnTicks(): void {
  if (installed) return;
  installed = true;
  const wrapped = (fn: (...args: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate => {
    if (!isDawnTick(fn)) return realSetImmediate(fn, ...args);
    const s: Scheduled = { fn, done: false };
    waiting.push(s);
    return realSetImmediate(() => runOnce(s));
  };
  // util.promisify(setImmediate) keeps working: it reads this symbol.
  Object.defineProperty(wrapped, promisify.custom, { value: (realSetImmediate as unknown as Record<symbol, unknown>)[promisify.custom] });
  globalThis.setImmediate = wrapped as typeof setImmediate;
}

/** Processes dawn.node's events until `done()`, for at most `timeoutMs` (a GPU that hangs fails the step, naming `what`). */
export function waitUntil(done: () => boolean, what: string, timeoutMs: number): number {
  const deadline = performance.now() + timeoutMs;
  let ticks = 0;
  while (!done()) {
    if (waiting.length === 0) throw new BackendError(`webgpu: ${what}: dawn.node has no event processing scheduled (setImmediate was replaced after the backend started?)`);
    if (performance.now() > deadline) throw new BackendError(`webgpu: ${what} did not complete within ${timeoutMs / 1000} s`);
    // Each callback leaves the list as it runs; those it schedules are run in the next round.
    for (const s of [...waiting]) runOnce(s);
    ticks++;
  }
  return ticks;
}
