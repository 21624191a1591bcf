/**
 * VAE step program. The job's flat buffers hold [encoder | decoder], one
 * fusion buffer that one optimizer updates (the strategy's update rule).
 * A step: for the shard's samples x_i, ε_i from (seed, step, cmd.offset + i),
 * the gradient of Σ_i reconstruction_i + β·KL_i with respect to both
 * networks (loss.ts) into `grads`, then the update: sum over the workers,
 * divide by the global batch, clip, optimizer step. The evaluation sums
 * each test sample's terms with ε from (seed, its index): the same noise
 * at every evaluation, whatever the worker count.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evalSplit, readSamples, type DataSplits, type EvalSplit } from '../../data/dataset.js';
import { layoutOf, packTensors, writeParams, type FlatLayout } from '../../tensor/flat.js';
import type { EvalResult, ProgramDeps, StepCommand, StepProgram, StepResult } from '../../worker/step-program.js';
import { updateAndFinish } from '../../worker/step-update.js';
import { sumLoss, vaeTerms, type VaeTerms } from './loss.js';
import type { VaeNetworks } from './networks.js';
import { Draw, latentNoise, latentNoiseAt } from './noise.js';
import type { VaeJob } from './spec.js';

export interface VaeDeps extends Pick<ProgramDeps, 'params' | 'grads' | 'update' | 'spans'> {
  spec: VaeJob;
  networks: VaeNetworks;
  data: DataSplits;
}

interface Net {
  model: LayersModel;
  layout: FlatLayout;
  offset: number;
  vars: tf.Variable[];
}

/** Test samples evaluated in one pass. */
const EVAL_BATCH = 500;

export class VaeProgram implements StepProgram {
  private readonly nets: [Net, Net];

  constructor(private readonly d: VaeDeps) {
    const net = (model: LayersModel, offset: number): Net => ({ model, layout: layoutOf(model), offset, vars: model.trainableWeights.map((w) => w.read() as tf.Variable) });
    const encoder = net(d.networks.encoder, 0);
    this.nets = [encoder, net(d.networks.decoder, encoder.layout.total)];
    if (d.params.length !== this.paramCount) throw new Error(`initial parameters: ${d.params.length} values for networks of ${this.paramCount}`);
    if (d.grads.length !== this.paramCount) throw new Error(`gradient buffer: ${d.grads.length} values for networks of ${this.paramCount}`);
    this.writeParams();
  }

  get paramCount(): number {
    return this.nets[0].layout.total + this.nets[1].layout.total;
  }

  async train(cmd: StepCommand): Promise<StepResult> {
    const { spec, data, grads } = this.d;
    const t0 = performance.now();
    const n = cmd.indices.length;
    let computeFrom = t0;
    let lossSum = 0;
    let counts = {};
    if (n > 0) {
      const batch = await readSamples(data.train, cmd.indices);
      computeFrom = performance.now();
      this.d.spans?.add('data', t0, computeFrom);
      const x = tf.tensor(batch.x, [n, ...data.train.featureShape]);
      const eps = tf.tensor2d(latentNoise(spec.seed, Draw.training, cmd.step, cmd.offset ?? 0, n, spec.vae.latent), [n, spec.vae.latent]);
      let terms: VaeTerms | undefined;
      const { value, grads: g } = tf.variableGrads(() => {
        const t = vaeTerms(this.d.networks.encoder, this.d.networks.decoder, x, eps, true);
        terms = { reconstruction: tf.keep(t.reconstruction), kl: tf.keep(t.kl) };
        return sumLoss(t, spec.vae.beta);
      }, this.vars);
      for (const net of this.nets) packTensors(net.vars.map((v) => g[v.name]), net.layout, this.range(grads, net));
      lossSum = value.dataSync()[0];
      counts = termSums(terms!);
      // A loss that is not finite makes the sum not finite on every worker, so that all of them skip the step alike (or fail it).
      if (!Number.isFinite(lossSum)) grads[0] = NaN;
      tf.dispose([x, eps, value, terms!.reconstruction, terms!.kl, ...Object.values(g)]);
    } else {
      // An empty shard (the epoch's short last batch on many workers) still takes part in the sum.
      grads.fill(0);
    }
    return updateAndFinish(this.d, cmd, { t0, computeFrom, lossSum, count: n, counts }, () => this.writeParams());
  }

  /**
   * The test samples' sums: lossSum weighs KL by the job's β (as the
   * training loss does); `reconstruction` and `kl` are the two terms, whose
   * sum is the negative ELBO.
   */
  async evaluate(indices: Int32Array, opts: { split?: EvalSplit } = {}): Promise<EvalResult> {
    const { spec } = this.d;
    const samples = evalSplit(this.d.data, opts.split);
    this.writeParams(); // they may have been refreshed since the last step
    const dim = spec.vae.latent;
    let lossSum = 0;
    const counts = { reconstruction: 0, kl: 0 };
    for (let a = 0; a < indices.length; a += EVAL_BATCH) {
      const part = indices.subarray(a, Math.min(indices.length, a + EVAL_BATCH));
      const batch = await readSamples(samples, part);
      const sums = tf.tidy(() => {
        const x = tf.tensor(batch.x, [part.length, ...samples.featureShape]);
        const eps = tf.tensor2d(latentNoiseAt(spec.seed, Draw.evaluation, 0, part, dim), [part.length, dim]);
        const terms = vaeTerms(this.d.networks.encoder, this.d.networks.decoder, x, eps, false);
        return { loss: sumLoss(terms, spec.vae.beta).dataSync()[0], ...termSums(terms) };
      });
      lossSum += sums.loss;
      counts.reconstruction += sums.reconstruction;
      counts.kl += sums.kl;
    }
    return { lossSum, count: indices.length, counts };
  }

  params(): Float32Array {
    // The shared buffer may change under a later update: hand out a copy.
    return this.d.params.slice();
  }

  /** No non-trainable state (no batch-norm). */
  state(): Float32Array {
    return new Float32Array(0);
  }

  async agreeState(): Promise<void> {}

  private get vars(): tf.Variable[] {
    return [...this.nets[0].vars, ...this.nets[1].vars];
  }

  private writeParams(): void {
    for (const net of this.nets) writeParams(net.model, net.layout, this.range(this.d.params, net));
  }

  private range(buf: Float32Array, net: Net): Float32Array {
    return buf.subarray(net.offset, net.offset + net.layout.total);
  }
}

/** The batch's sums of the two terms. */
function termSums(t: VaeTerms): { reconstruction: number; kl: number } {
  return tf.tidy(() => ({ reconstruction: tf.sum(t.reconstruction).dataSync()[0], kl: tf.sum(t.kl).dataSync()[0] }));
}
