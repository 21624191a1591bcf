/**
 * The synchronous wait on dawn.node's event processing (webgpu's dataSync in
 * Node), with stand-ins for dawn.node's scheduled callbacks: nameless
 * functions that print as native code, as Napi::Function::New's do.
 */
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { captureDawnTicks, waitUntil } from '../src/tensor/webgpu/dawn-ticks.js';
import { BackendError } from '../src/util/errors.js';

/** A nameless "native" function that counts its calls and may schedule the next one, as dawn.node's event processing does while work is pending. */
function dawnLike(onCall: () => void): { fn: () => void; calls: () => number } {
  let calls = 0;
  const target = [() => undefined][0];
  const fn = new Proxy(target, {
    apply: () => {
      calls++;
      onCall();
    },
    get: (t, key) => (key === 'name' ? '' : Reflect.get(t, key)),
  });
  return { fn, calls: () => calls };
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe('waiting on dawn.node within a synchronous call', () => {
  captureDawnTicks();

  it('calls the scheduled event processing until the wait is over; the event loop does not call it again', async () => {
    let polls = 0;
    let mapped = false;
    const schedule = (): void => {
      const tick = dawnLike(() => {
        polls++;
        if (polls === 3) mapped = true;
        else schedule(); // still pending: dawn.node schedules itself again
      });
      ticks.push(tick);
      setImmediate(tick.fn);
    };
    const ticks: ReturnType<typeof dawnLike>[] = [];
    schedule();
    expect(waitUntil(() => mapped, 'a test map', 1000)).toBe(3);
    expect(mapped).toBe(true);
    await nextTurn();
    expect(ticks.map((t) => t.calls())).toEqual([1, 1, 1]);
  });

  it('keeps every callback scheduled at once (a promise rejection beside the event processing): each runs, once', async () => {
    let done = false;
    const reject = dawnLike(() => undefined);
    const tick = dawnLike(() => (done = true));
    setImmediate(tick.fn);
    setImmediate(reject.fn);
    waitUntil(() => done, 'a test map', 1000);
    await nextTurn();
    expect([tick.calls(), reject.calls()]).toEqual([1, 1]);
  });

  it("leaves other code's setImmediate alone: the event loop runs it, with its arguments, and a wait does not", async () => {
    const got: unknown[] = [];
    setImmediate((a: number, b: string) => got.push(a, b), 7, 'x');
    expect(() => waitUntil(() => false, 'nothing of dawn', 1000)).toThrow(BackendError);
    expect(got).toEqual([]);
    await nextTurn();
    expect(got).toEqual([7, 'x']);
  });

  it('runs a callback once per scheduling, also where dawn.node schedules the same function again', async () => {
    let left = 3;
    const tick = dawnLike(() => {
      if (--left > 0) setImmediate(tick.fn);
    });
    setImmediate(tick.fn);
    waitUntil(() => left === 0, 'a reused callback', 1000);
    await nextTurn();
    expect(tick.calls()).toBe(3);
  });

  it('util.promisify(setImmediate) still resolves with its value', async () => {
    expect(await promisify(setImmediate)('value')).toBe('value');
  });

  it('a wait that outlasts its deadline fails, naming what it waited for', () => {
    let hung = true; // a GPU that never finishes: dawn.node keeps scheduling itself
    const again = (): void => void (hung && setImmediate(dawnLike(again).fn));
    again();
    expect(() => waitUntil(() => false, 'reading a tensor back', 20)).toThrow(/reading a tensor back did not complete within 0.02 s/);
    hung = false;
  });
});
