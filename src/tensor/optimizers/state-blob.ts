/**
 * Optimizer states as one float32 blob and a small JSON description, so that
 * they travel as one tensor frame and sit in a checkpoint as one file. A
 * list entry is null for an optimizer that has not stepped yet (created
 * lazily, so its state is the fresh one). Every optimizer here is
 * element-wise, so a state can be cut into parameter-server slices and
 * joined again.
 */
import type { OptimizerState } from './optimizer.js';

export interface OptimizerStateMeta {
  name: string;
  iteration: number;
  scalars?: Record<string, number>;
  /** Slot names, in blob order; each slot is `size` values. */
  slots: string[];
  size: number;
}

export interface PackedStates {
  meta: (OptimizerStateMeta | null)[];
  data: Float32Array;
}

export function packStates(states: (OptimizerState | null)[]): PackedStates {
  const meta = states.map((s): OptimizerStateMeta | null => {
    if (!s) return null;
    const slots = Object.keys(s.slots);
    const size = slots.length > 0 ? s.slots[slots[0]].length : 0;
    for (const k of slots) if (s.slots[k].length !== size) throw new RangeError(`optimizer ${s.name}: slot ${k} has ${s.slots[k].length} values, not ${size}`);
    return { name: s.name, iteration: s.iteration, ...(s.scalars ? { scalars: { ...s.scalars } } : {}), slots, size };
  });
  const data = new Float32Array(meta.reduce((n, m) => n + (m ? m.slots.length * m.size : 0), 0));
  let at = 0;
  states.forEach((s, i) => {
    for (const k of meta[i]?.slots ?? []) {
      data.set(s!.slots[k], at);
      at += meta[i]!.size;
    }
  });
  return { meta, data };
}

export function unpackStates(p: PackedStates): (OptimizerState | null)[] {
  let at = 0;
  const states = p.meta.map((m): OptimizerState | null => {
    if (!m) return null;
    const slots: Record<string, Float32Array> = {};
    for (const k of m.slots) {
      if (at + m.size > p.data.length) throw new RangeError(`optimizer states: ${p.data.length} values, fewer than their description needs`);
      slots[k] = p.data.slice(at, at + m.size);
      at += m.size;
    }
    return { name: m.name, iteration: m.iteration, slots, ...(m.scalars ? { scalars: { ...m.scalars } } : {}) };
  });
  if (at !== p.data.length) throw new RangeError(`optimizer states: ${p.data.length} values, their description ${at}`);
  return states;
}

/** The part of an element-wise optimizer's state for parameters [offset, offset + length). */
export function sliceState(s: OptimizerState, offset: number, length: number): OptimizerState {
  const slots = Object.fromEntries(Object.entries(s.slots).map(([k, v]) => [k, v.slice(offset, offset + length)]));
  return { ...s, slots };
}

/** One state from the consecutive slices of it (the parameter-server shards' parts, in order). */
export function joinStates(parts: OptimizerState[]): OptimizerState {
  const [first] = parts;
  if (!first) throw new RangeError('no optimizer state to join');
  for (const p of parts) {
    if (p.name !== first.name || p.iteration !== first.iteration) throw new RangeError(`optimizer slices disagree: ${p.name} at ${p.iteration}, ${first.name} at ${first.iteration}`);
  }
  const slots: Record<string, Float32Array> = {};
  for (const k of Object.keys(first.slots)) {
    const out = new Float32Array(parts.reduce((n, p) => n + p.slots[k].length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p.slots[k], at);
      at += p.slots[k].length;
    }
    slots[k] = out;
  }
  return { ...first, slots };
}
