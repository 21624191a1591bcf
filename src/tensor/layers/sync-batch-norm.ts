/**
 * Batch normalization over the channels (last axis), whose training
 * statistics can be those of the whole global batch across workers.
 *
 * Training forward: per-channel Σ(x−K), Σ(x−K)² and the count over the local
 * shard (K = the moving mean, the same on every replica, which keeps
 * E[d²]−E[d]² accurate) are summed over the replicas → global mean and biased
 * variance → normalize. Backward: Σdy and Σdy·x̂ per channel are summed over
 * the replicas, which gives the exact gradient of global-batch batch-norm;
 * γ's and β's gradients are the local sums and go through the job's gradient
 * all-reduce like every other weight. Both sums run inside tfjs's
 * synchronous forward and gradient functions, so `sum` must block (the comm
 * thread's allReduceSync).
 *
 * Unlike tfjs-layers' BatchNormalization, a training forward pass does not
 * write the moving statistics: it records them, and the step program commits
 * them once the step is done (commitMovingStats), from the global statistics,
 * so they come out identical on every replica. Inference uses the moving
 * statistics only and never communicates. Saved models record the layer as a
 * standard BatchNormalization (standard-topology.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { valuesNow } from '../flat.js';

/** Sums a small vector over all replicas of the job, blocking. */
export type StatsSum = (values: Float32Array) => Float32Array;

export interface SyncBatchNormArgs {
  /** true: global-batch statistics (needs `sum`); false: this replica's shard only. */
  sync: boolean;
  momentum?: number;
  epsilon?: number;
  name?: string;
}

interface Stats {
  mean: Float32Array;
  variance: Float32Array;
  count: number;
}

export class SyncBatchNormalization extends layers.Layer {
  static readonly className = 'SyncBatchNormalization';
  readonly sync: boolean;
  readonly momentum: number;
  readonly epsilon: number;
  /** Set by the worker. Unset, this process is the job's only replica. */
  sum: StatsSum | undefined;
  private gamma!: LayerVariable;
  private beta!: LayerVariable;
  private movingMean!: LayerVariable;
  private movingVariance!: LayerVariable;
  /** Statistics of the training passes since the last commit, not yet in the moving ones. */
  private pending: Stats[] = [];

  constructor(args: SyncBatchNormArgs) {
    super({ name: args.name });
    this.sync = args.sync;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.supportsMasking = true;
  }

  /** Channels, known once built. */
  get channels(): number {
    return this.movingMean.shape[0] as number;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const dim = shape[shape.length - 1];
    if (dim === null || dim === undefined) throw new Error(`${this.name}: the channel axis of input shape [${shape}] must be known`);
    // The same names, order and initial values as tfjs-layers' BatchNormalization.
    this.gamma = this.addWeight('gamma', [dim], 'float32', initializers.ones(), undefined, true);
    this.beta = this.addWeight('beta', [dim], 'float32', initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight('moving_mean', [dim], 'float32', initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [dim], 'float32', initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true) {
      return tf.tidy(() => tf.batchNorm(x, this.movingMean.read(), this.movingVariance.read(), this.beta.read(), this.gamma.read(), this.epsilon));
    }
    const c = this.channels;
    const shift = this.movingMean.read().dataSync() as Float32Array;
    const [s1, s2] = shiftedSums(valuesNow(x), shift);
    const sums = new Float32Array(2 * c + 1);
    sums.set(s1);
    sums.set(s2, c);
    sums[2 * c] = x.size / c;
    return this.normalize(x, this.globalStats(sums, shift));
  }

  /**
   * A replica with no samples this step still takes part in the sums, in
   * the same order as the others (forward, then backward): see
   * takePartWithoutSamples.
   */
  forwardWithoutSamples(): void {
    // With no one to sum with, the global batch is this empty one: no statistics.
    if (this.sync && this.sum) this.globalStats(new Float32Array(2 * this.channels + 1));
  }

  backwardWithoutSamples(): void {
    if (this.sync && this.sum) this.reduce(new Float32Array(2 * this.channels));
  }

  /**
   * Moves the moving statistics toward each training pass's since the last
   * commit, in order, as tfjs-layers does inside each pass:
   * m ← m − (m − v)(1 − momentum).
   */
  commitMovingStats(): void {
    const passes = this.pending;
    this.pending = [];
    const decay = 1 - this.momentum;
    for (const p of passes) {
      for (const [v, value] of [[this.movingMean, p.mean], [this.movingVariance, p.variance]] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, tf.tensor1d(value)), decay)));
        });
      }
    }
  }

  /** Forgets the statistics of the passes since the last commit (a skipped step's). */
  discardMovingStats(): void {
    this.pending = [];
  }

  /** Sums over the replicas when synchronized; the identity otherwise. */
  private reduce(values: Float32Array): Float32Array {
    if (!this.sync || !this.sum) return values;
    const out = this.sum(values);
    if (out.length !== values.length) throw new Error(`${this.name}: a sum of ${values.length} values came back with ${out.length}`);
    return out;
  }

  /** [Σ(x−K) per channel, Σ(x−K)² per channel, count] of this replica → the job's batch statistics, recorded for the moving ones. */
  private globalStats(local: Float32Array, shift = this.movingMean.read().dataSync() as Float32Array): Stats {
    const c = this.channels;
    const g = this.reduce(local);
    const count = g[2 * c];
    if (!(count > 0)) throw new Error(`${this.name}: batch statistics of an empty global batch`);
    const mean = new Float32Array(c);
    const variance = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      const d = g[i] / count;
      mean[i] = shift[i] + d;
      variance[i] = Math.max(g[c + i] / count - d * d, 0);
    }
    const stats = { mean, variance, count };
    this.pending.push(stats);
    return stats;
  }

  private normalize(x: tf.Tensor, stats: Stats): tf.Tensor {
    const eps = this.epsilon;
    const c = this.channels;
    const invStd = stats.variance.map((v) => 1 / Math.sqrt(v + eps));
    return tf.tidy(() => {
      const mean = tf.tensor1d(stats.mean);
      const variance = tf.tensor1d(stats.variance);
      const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [xx, gamma, beta] = args as tf.Tensor[];
        const save = args[3] as tf.GradSaveFunc;
        save([xx, gamma]);
        return {
          value: tf.batchNorm(xx, mean, variance, beta, gamma, eps),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [sx, sgamma] = saved;
            const gm = sgamma.dataSync() as Float32Array;
            // Σdy and Σdy·x̂ = Σdy·(x − μ)/σ per channel, accumulated in float64.
            const [sdy, sdyd] = gradientSums(valuesNow(dy), valuesNow(sx), stats.mean);
            const local = new Float32Array(2 * c);
            for (let i = 0; i < c; i++) {
              local[i] = sdy[i];
              local[c + i] = sdyd[i] * invStd[i];
            }
            const g = this.reduce(local);
            // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂)), the means over the global batch,
            // in one pass as A·dy + B·(x − μ) + C per channel.
            const a = new Float64Array(c);
            const b = new Float64Array(c);
            const k = new Float64Array(c);
            for (let i = 0; i < c; i++) {
              a[i] = gm[i] * invStd[i];
              b[i] = (-a[i] * invStd[i] * g[c + i]) / stats.count;
              k[i] = (-a[i] * g[i]) / stats.count;
            }
            const dx = affineGradient(valuesNow(dy), valuesNow(sx), stats.mean, a, b, k);
            return [tf.tensor(dx, sx.shape), tf.tensor1d(local.subarray(c)), tf.tensor1d(local.subarray(0, c))];
          },
        };
      });
      return f(x, this.gamma.read(), this.beta.read());
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), sync: this.sync, momentum: this.momentum, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(SyncBatchNormalization);

/*
 * Per-channel sums over channels-last arrays, accumulated in float64: the
 * wasm backend's Sum accumulates in float32 (3e-6 relative error over 37k
 * values, measured), which batch-norm's 1/σ amplifies step after step. Plain
 * loops: a callback per element made them 10× slower.
 */

/** Σ(x − K) and Σ(x − K)² per channel. */
function shiftedSums(x: Float32Array, shift: Float32Array): [Float64Array, Float64Array] {
  const c = shift.length;
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  // One channel at a time, accumulating in registers: twice as fast as
  // updating every channel's sums element by element.
  for (let ch = 0; ch < c; ch++) {
    const k = shift[ch];
    let a = 0;
    let b = 0;
    for (let i = ch; i < x.length; i += c) {
      const d = x[i] - k;
      a += d;
      b += d * d;
    }
    s1[ch] = a;
    s2[ch] = b;
  }
  return [s1, s2];
}

/** Σdy and Σdy·(x − μ) per channel. */
function gradientSums(dy: Float32Array, x: Float32Array, mean: Float32Array): [Float64Array, Float64Array] {
  const c = mean.length;
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    let a = 0;
    let b = 0;
    for (let i = ch; i < dy.length; i += c) {
      const g = dy[i];
      a += g;
      b += g * (x[i] - m);
    }
    s1[ch] = a;
    s2[ch] = b;
  }
  return [s1, s2];
}

/** a·dy + b·(x − μ) + k per channel, element by element. */
function affineGradient(dy: Float32Array, x: Float32Array, mean: Float32Array, a: Float64Array, b: Float64Array, k: Float64Array): Float32Array {
  const c = mean.length;
  const out = new Float32Array(dy.length);
  for (let base = 0; base < dy.length; base += c) {
    for (let ch = 0; ch < c; ch++) {
      const i = base + ch;
      out[i] = a[ch] * dy[i] + b[ch] * (x[i] - mean[ch]) + k[ch];
    }
  }
  return out;
}

function batchNormLayers(model: { layers: unknown[] }): SyncBatchNormalization[] {
  return model.layers.filter((l): l is SyncBatchNormalization => l instanceof SyncBatchNormalization);
}

/** Gives every synchronized batch-norm layer of a model the job's blocking sum. */
export function attachStatsSum(model: { layers: unknown[] }, sum: StatsSum): void {
  for (const l of batchNormLayers(model)) l.sum = sum;
}

/** Values the largest single sum of the model's layers needs (0 without synchronized layers). */
export function statsSumLength(model: { layers: unknown[] }): number {
  return Math.max(0, ...batchNormLayers(model).filter((l) => l.sync).map((l) => 2 * l.channels + 1));
}

/**
 * For a replica with an empty shard: the sums a training pass makes, with
 * zeros, so that the others do not wait for it forever. Layers run forward in
 * model order and backward in reverse (tfjs backpropagates through its tape
 * from the end), which is the order the others' passes make them in; a layer
 * applied twice in one pass is not supported. With several training passes
 * under one gradient (the clean and the adversarial batch), the others make
 * every pass's forward sums, then the backward sums from the last pass back.
 */
export function takePartWithoutSamples(model: { layers: unknown[] }, passes = 1): void {
  const bn = batchNormLayers(model);
  for (let p = 0; p < passes; p++) for (const l of bn) l.forwardWithoutSamples();
  for (let p = 0; p < passes; p++) for (const l of [...bn].reverse()) l.backwardWithoutSamples();
}

/**
 * Whether replicas can hold different non-trainable state: any outside
 * synchronized batch-norm layers (local batch-norm, tfjs-layers' own).
 */
export function hasReplicaState(model: { layers: layers.Layer[] }): boolean {
  return model.layers.some((l) => l.nonTrainableWeights.length > 0 && !(l instanceof SyncBatchNormalization && l.sync));
}

export function commitMovingStats(model: { layers: unknown[] }): void {
  for (const l of batchNormLayers(model)) l.commitMovingStats();
}

/** A skipped step (train.onNonFinite skip-step) leaves the moving statistics as they were: its passes' may be NaN. */
export function discardMovingStats(model: { layers: unknown[] }): void {
  for (const l of batchNormLayers(model)) l.discardMovingStats();
}
