/**
 * GAN step program (Goodfellow et al., Algorithm 1). The job's flat buffers
 * hold [generator | discriminator]; each step trains one network on its own
 * range of them (its own fusion buffer) with its own optimizer:
 *   - discriminator step: real shard and G(z) for as many noise samples →
 *     Σ BCE(D(x), 1 − smoothing) + Σ BCE(D(G(z)), 0), gradients of D only;
 *   - generator step: Σ BCE(D(G(z)), 1) (non-saturating) or
 *     −Σ BCE(D(G(z)), 0) (minimax), gradients of G only.
 * Both then sum over the workers, divide by the global batch and step that
 * network's optimizer, as the supervised program does for its one network.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { readSamples, type DataSplits } from '../../data/dataset.js';
import { layoutOf, packTensors, readState, writeParams, writeState, type FlatLayout } from '../../tensor/flat.js';
import { ganPlan, latentNoise, phaseOf, type GanPlan } from './plan.js';
import type { GanJob } from './spec.js';
import type { GanModels } from './zoo.js';
import { commitMovingStats, discardMovingStats, hasReplicaState } from '../../tensor/layers/sync-batch-norm.js';
import { LocalUpdate } from '../../worker/reducers/local-update.js';
import type { EvalResult, ProgramDeps, StepCommand, StepProgram, StepResult } from '../../worker/step-program.js';

/** `params` and `grads` hold [generator | discriminator]; each network's range is summed by `sumRange` and updated here. */
export interface GanDeps extends Pick<ProgramDeps, 'params' | 'grads' | 'sumRange' | 'broadcastState' | 'spans'> {
  spec: GanJob;
  models: GanModels;
  data: DataSplits;
}

interface Net {
  model: LayersModel;
  layout: FlatLayout;
  offset: number;
  vars: tf.Variable[];
  update: LocalUpdate;
}

/** Σ over the batch of the binary cross-entropy of sigmoid(logits) against `target`, in the stable form. */
export function sumSigmoidCrossEntropy(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.sub(tf.add(tf.relu(logits), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))), tf.mul(logits, target))));
}

export class GanProgram implements StepProgram {
  private readonly g: Net;
  private readonly d: Net;
  private readonly plan: GanPlan;

  constructor(private readonly deps: GanDeps) {
    const { spec, models } = deps;
    const net = (model: LayersModel, offset: number, optimizer: GanJob['gan']['generatorOptimizer']): Net => ({
      model,
      layout: layoutOf(model),
      offset,
      vars: model.trainableWeights.map((w) => w.read() as tf.Variable),
      update: new LocalUpdate({ optimizer, clipNorm: spec.train.clipNorm, skipNonFinite: spec.train.onNonFinite === 'skip-step' }),
    });
    this.g = net(models.generator, 0, spec.gan.generatorOptimizer);
    this.d = net(models.discriminator, this.g.layout.total, spec.gan.discriminatorOptimizer);
    if (deps.params.length !== this.paramCount) throw new Error(`initial parameters: ${deps.params.length} values for networks of ${this.paramCount}`);
    this.plan = ganPlan(deps.data.train.size, spec.train.batchSize, spec.train.epochs, spec.gan.dSteps, spec.train.maxSteps);
    for (const n of [this.g, this.d]) writeParams(n.model, n.layout, this.range(deps.params, n));
  }

  get paramCount(): number {
    return this.g.layout.total + this.d.layout.total;
  }

  get ownOptimizers(): LocalUpdate[] {
    return [this.g.update, this.d.update];
  }

  async train(cmd: StepCommand): Promise<StepResult> {
    const { spec, data } = this.deps;
    const t0 = performance.now();
    const at = phaseOf(this.plan, cmd.step);
    const n = cmd.indices.length;
    const dim = spec.gan.latentDim;
    const z = tf.tensor(latentNoise(spec.seed, at.iteration, at.phase, cmd.offset ?? 0, n, dim), [n, dim]);
    const G = this.g.model;
    const D = this.d.model;
    const net = at.discriminator ? this.d : this.g;
    let loss: tf.Scalar;
    let grads: tf.NamedTensorMap;
    let computeFrom = t0;
    if (at.discriminator) {
      const real = tf.tensor((await readSamples(data.train, cmd.indices)).x, [n, ...data.train.featureShape]);
      computeFrom = performance.now();
      this.deps.spans?.add('data', t0, computeFrom);
      const fake = tf.tidy(() => G.apply(z, { training: true }) as tf.Tensor);
      ({ value: loss, grads } = tf.variableGrads(() => {
        const onReal = sumSigmoidCrossEntropy(D.apply(real, { training: true }) as tf.Tensor, 1 - spec.gan.labelSmoothing);
        return tf.add(onReal, sumSigmoidCrossEntropy(D.apply(fake, { training: true }) as tf.Tensor, 0));
      }, this.d.vars));
      tf.dispose([real, fake]);
    } else {
      ({ value: loss, grads } = tf.variableGrads(() => {
        const logits = D.apply(G.apply(z, { training: true }), { training: true }) as tf.Tensor;
        return spec.gan.loss === 'nonsaturating' ? sumSigmoidCrossEntropy(logits, 1) : tf.neg(sumSigmoidCrossEntropy(logits, 0));
      }, this.g.vars));
    }
    const g = this.range(this.deps.grads, net);
    packTensors(net.vars.map((v) => grads[v.name]), net.layout, g);
    const lossSum = loss.dataSync()[0];
    // A loss that is not finite makes the sum not finite on every worker, so that all of them skip the step alike.
    if (!Number.isFinite(lossSum)) g[0] = NaN;
    tf.dispose([z, loss, ...Object.values(grads)]);
    const t1 = performance.now();
    this.deps.spans?.add('forward/backward', computeFrom, t1);
    await this.deps.sumRange(net.offset, net.layout.total);
    const t2 = performance.now();
    // cmd.lr is the network's own rate for this step (plan.ts: stepLr).
    const applied = net.update.apply(this.range(this.deps.params, net), g, { step: at.iteration, lr: cmd.lr, globalBatch: cmd.globalBatch });
    this.deps.spans?.add('optimizer', t2);
    // The step's batch-norm statistics count only if its update did (a skipped step's may be NaN).
    for (const m of [G, D]) (applied ? commitMovingStats : discardMovingStats)(m);
    writeParams(net.model, net.layout, this.range(this.deps.params, net));
    const times = { computeMs: t1 - t0 + (performance.now() - t2), commMs: t2 - t1 };
    return applied ? { lossSum, count: n, ...times, counts: {} } : { lossSum: 0, count: 0, ...times, counts: {}, skipped: true };
  }

  /** GAN jobs are scored by the coordinator from generated samples: nothing to evaluate here. */
  evaluate(indices: Int32Array): EvalResult {
    return { lossSum: 0, count: indices.length, counts: {} };
  }

  params(): Float32Array {
    return this.deps.params.slice();
  }

  state(): Float32Array {
    return readState([this.g.model, this.d.model]);
  }

  async agreeState(): Promise<void> {
    if (!hasReplicaState(this.g.model) && !hasReplicaState(this.d.model)) return;
    writeState([this.g.model, this.d.model], await this.deps.broadcastState(this.state()));
  }

  private range(buf: Float32Array, n: Net): Float32Array {
    return buf.subarray(n.offset, n.offset + n.layout.total);
  }
}
