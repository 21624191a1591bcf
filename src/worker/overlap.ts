/**
 * Overlapping the gradient sum with the backward pass (as PyTorch DDP's
 * buckets and Horovod's fusion do). During a training pass every trainable
 * variable is read through an identity whose gradient function writes that
 * variable's gradient into the flat buffer the moment the backward pass has
 * it. The buffer is cut into buckets of whole variables, about `minBytes`
 * each, counted from its end: the backward pass runs from the last layer
 * to the first, so the last bucket fills first. A bucket whose variables
 * all have their gradients is handed to the comm thread, whose ring sums
 * it while the backward pass computes the earlier layers.
 *
 * Buckets are always started in the same order, last to first, whether
 * early or after the pass (a worker with no samples, or a model that reads
 * a variable more than once in a pass, whose gradient then arrives in
 * parts, starts them all after it): every worker runs the same sequence of
 * collectives, and every value is the same sum of the same workers' values.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { heapView, type FlatLayout } from '../tensor/flat.js';

interface Bucket {
  /** Layout entries [first, last] and the buffer range they cover. */
  first: number;
  last: number;
  offset: number;
  length: number;
}

export class GradientOverlap {
  /** From the end of the buffer to its start: the order they are started in. */
  readonly buckets: Bucket[] = [];
  private readonly weights: LayerVariable[];
  private started = 0;

  constructor(
    model: LayersModel,
    private readonly layout: FlatLayout,
    private readonly grads: Float32Array,
    /** Starts summing grads[offset, offset + length) over the workers, without waiting. */
    private readonly start: (offset: number, length: number) => void,
    minBytes = 64 * 1024,
  ) {
    this.weights = model.trainableWeights;
    const e = layout.entries;
    if (this.weights.length !== e.length) throw new Error(`${this.weights.length} weights for a layout of ${e.length}`);
    for (let last = e.length - 1; last >= 0; ) {
      let first = last;
      while (first > 0 && (e[last].offset + e[last].size - e[first].offset) * 4 < minBytes) first--;
      this.buckets.push({ first, last, offset: e[first].offset, length: e[last].offset + e[last].size - e[first].offset });
      last = first - 1;
    }
  }

  /**
   * Runs `pass` (the forward and backward pass, inside tf.variableGrads)
   * with every weight read through its hook; returns which variables'
   * gradients the hooks wrote (the caller writes the others, which lie in
   * buckets not started yet, then calls startRest).
   */
  run<T>(pass: () => T): { result: T; hooked: boolean[] } {
    this.started = 0;
    const n = this.weights.length;
    const reads = new Array<number>(n).fill(0);
    const hooked = new Array<boolean>(n).fill(false);
    let readTwice: boolean | undefined;
    const heap = heapView();
    const hooks = this.weights.map((_, i) =>
      tf.customGrad((x) => ({
        value: tf.clone(x as tf.Tensor),
        gradFunc: (dy: tf.Tensor) => {
          readTwice ??= reads.some((r) => r > 1);
          if (readTwice) return dy;
          this.grads.set(heap?.(dy) ?? (dy.dataSync() as Float32Array), this.layout.entries[i].offset);
          hooked[i] = true;
          for (let b = this.buckets[this.started]; b && hooked.slice(b.first, b.last + 1).every(Boolean); b = this.buckets[this.started]) this.startNext();
          return dy;
        },
      })),
    );
    this.weights.forEach((w, i) => {
      const original = Object.getPrototypeOf(w).read as () => tf.Variable;
      w.read = () => {
        reads[i]++;
        return hooks[i](original.call(w)) as tf.Variable;
      };
    });
    try {
      const result = pass();
      return { result, hooked: readTwice ? hooked.fill(false) : hooked };
    } finally {
      for (const w of this.weights) Reflect.deleteProperty(w, 'read'); // the prototype's read again
    }
  }

  /** Starts, in order, the buckets the pass did not (all of them after a pass without hooks, or none). */
  startRest(): void {
    while (this.started < this.buckets.length) this.startNext();
    this.started = 0;
  }

  private startNext(): void {
    const b = this.buckets[this.started++];
    this.start(b.offset, b.length);
  }
}
