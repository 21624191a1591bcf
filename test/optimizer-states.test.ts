/** Optimizer states as a blob (checkpoints, `start`, `psState`): packed, cut into shard slices and joined, and resumed exactly. */
import { describe, expect, it } from 'vitest';
import { joinStates, makeOptimizer, packStates, sliceState, unpackStates, type OptimizerState } from '../src/tensor/optimizers/index.js';
import { LocalUpdate } from '../src/worker/reducers/local-update.js';
import { Rng } from '../src/util/rng.js';

const adam = { name: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;
const rmsprop = { name: 'rmsprop', lr: 0.01, decay: 0.9, momentum: 0.5, epsilon: 1e-7 } as const;

function randomVector(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** An optimizer after a few steps on random gradients. */
function stepped(spec: typeof adam | typeof rmsprop, n: number, steps: number): OptimizerState {
  const rng = new Rng(7);
  const o = makeOptimizer(spec, n);
  const p = randomVector(rng, n);
  for (let s = 0; s < steps; s++) o.step(p, randomVector(rng, n), spec.lr, 0.5);
  return o.stateDict();
}

describe('packStates / unpackStates', () => {
  it('round-trips states, scalars and the nulls of optimizers not stepped yet', () => {
    const states = [stepped(adam, 11, 3), null, stepped(rmsprop, 5, 2)];
    const packed = packStates(states);
    expect(packed.data.length).toBe(2 * 11 + 2 * 5); // adam: m, v; rmsprop: ms, mom
    expect(packed.meta[1]).toBeNull();
    const back = unpackStates({ meta: JSON.parse(JSON.stringify(packed.meta)), data: packed.data.slice() });
    expect(back).toEqual(states);
    expect(back[0]!.scalars).toEqual(states[0]!.scalars);
  });

  it('refuses a blob that does not match its description', () => {
    const packed = packStates([stepped(adam, 4, 1)]);
    expect(() => unpackStates({ meta: packed.meta, data: packed.data.subarray(1) })).toThrow(/fewer than their description needs/);
    expect(() => unpackStates({ meta: packed.meta, data: new Float32Array(packed.data.length + 1) })).toThrow(/their description 8/);
  });
});

describe('sliceState / joinStates', () => {
  it('joining the shards’ slices gives the whole state back', () => {
    const whole = stepped(adam, 10, 4);
    const parts = [sliceState(whole, 0, 3), sliceState(whole, 3, 3), sliceState(whole, 6, 4)];
    expect(parts[1].slots.m).toEqual(whole.slots.m.slice(3, 6));
    expect(joinStates(parts)).toEqual(whole);
  });

  it('refuses slices of different optimizers or steps', () => {
    const a = stepped(adam, 4, 2);
    const b = stepped(adam, 4, 3);
    expect(() => joinStates([a, b])).toThrow(/disagree/);
  });
});

describe('LocalUpdate state', () => {
  it('a replica resumed from the state of step 5 takes the same steps 6–10 as one that never stopped', () => {
    const rule = { optimizer: adam, clipNorm: 1 };
    const rng = new Rng(3);
    const grads = Array.from({ length: 10 }, () => randomVector(rng, 16));
    const start = randomVector(rng, 16);
    const args = (step: number) => ({ step, lr: 0.01 * (1 - step / 20), globalBatch: 8 });
    const straight = new LocalUpdate(rule);
    const p1 = start.slice();
    grads.forEach((g, s) => straight.apply(p1, g.slice(), args(s)));
    const first = new LocalUpdate(rule);
    const p2 = start.slice();
    grads.slice(0, 5).forEach((g, s) => first.apply(p2, g.slice(), args(s)));
    const resumed = new LocalUpdate(rule);
    resumed.loadStateDict(unpackStates(packStates([first.stateDict()]))[0]);
    grads.slice(5).forEach((g, s) => resumed.apply(p2, g.slice(), args(s + 5)));
    expect(p2).toEqual(p1);
    // …and without the state (a fresh optimizer) it would not.
    const again = new LocalUpdate(rule);
    const fresh = new LocalUpdate(rule);
    const p3 = start.slice();
    grads.slice(0, 5).forEach((g, s) => again.apply(p3, g.slice(), args(s)));
    grads.slice(5).forEach((g, s) => fresh.apply(p3, g.slice(), args(s + 5)));
    expect(p3).not.toEqual(p1);
  });

  it('null is the state before the first step, and loading it makes the optimizer fresh again', () => {
    const u = new LocalUpdate({ optimizer: adam });
    expect(u.stateDict()).toBeNull();
    u.apply(new Float32Array(3), new Float32Array([1, 2, 3]), { step: 0, lr: 0.1, globalBatch: 1 });
    expect(u.stateDict()?.iteration).toBe(1);
    u.loadStateDict(null);
    expect(u.stateDict()).toBeNull();
  });
});
