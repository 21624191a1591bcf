/**
 * Supervised step: forward/backward of the SUMMED loss on this worker's
 * shard, then the strategy's update: sum over workers, divide by the global
 * batch (so uneven shards give exactly single-process gradients), clip by
 * global norm, optimizer step (reducers/reducer.ts). Batch-norm moving
 * statistics recorded in the pass are committed once it is done. With a
 * PassMaker (adversarial jobs), the step's loss has a clean and an
 * adversarial pass, and the evaluation attacks too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evalSplit, readSamples, type DataSplits, type EvalSplit } from '../../data/dataset.js';
import { layoutOf, packTensors, readState, writeParams, writeState, type FlatLayout } from '../../tensor/flat.js';
import { GradientOverlap } from '../../worker/overlap.js';
import { countCorrect } from '../../tensor/loss.js';
import type { Objective } from '../../tensor/objective.js';
import { setDropoutContext } from '../../tensor/layers/seeded-dropout.js';
import { commitMovingStats, discardMovingStats, hasReplicaState, statsSumLength, takePartWithoutSamples } from '../../tensor/layers/sync-batch-norm.js';
import type { Counts, EvalResult, ProgramDeps, StepCommand, StepProgram, StepResult } from '../../worker/step-program.js';
import type { SupervisedJob } from './spec.js';

/** One forward/backward pass of a step: its inputs and the weight of its loss term. */
export interface TrainingPass {
  x: Float32Array;
  weight: number;
  /** The pass whose predictions the step's accuracy counts. */
  scored: boolean;
}

/**
 * What a job type built on this one changes in the step (adversarial
 * jobs: the attacked batch as a second pass) and adds to the evaluation.
 */
export interface PassMaker {
  /** How many training passes a step makes: the empty-shard replay needs it. */
  readonly passCount: number;
  passes(model: LayersModel, x: Float32Array, y: Int32Array, cmd: StepCommand): TrainingPass[];
  /** Extra inputs to evaluate test samples `first`, `first` + 1, … on, keyed by the name of the count of those still classified right. */
  evaluationInputs(model: LayersModel, x: Float32Array, y: Int32Array, first: number): Record<string, Float32Array>;
}

export interface SupervisedDeps extends Pick<ProgramDeps, 'params' | 'grads' | 'update' | 'broadcastState' | 'startSum' | 'spans'> {
  spec: SupervisedJob;
  model: LayersModel;
  data: DataSplits;
  /** What the job minimises and counts (train.loss). */
  objective: Objective;
  /** Adversarial jobs: attacks each shard and each evaluation slice. */
  passMaker?: PassMaker;
  /** Bucket size for sums started during the backward pass (with startSum). */
  overlapBytes?: number;
}

const EVAL_BATCH = 1000;

export class SupervisedProgram implements StepProgram {
  private readonly layout: FlatLayout;
  private readonly vars: tf.Variable[];
  /** Sums each bucket of gradients while the backward pass goes on (where the strategy can). */
  private readonly overlap: GradientOverlap | undefined;

  constructor(private readonly d: SupervisedDeps) {
    this.layout = layoutOf(d.model);
    if (d.params.length !== this.layout.total) throw new Error(`initial parameters: ${d.params.length} values for a model of ${this.layout.total}`);
    if (d.grads.length !== this.layout.total) throw new Error(`gradient buffer: ${d.grads.length} values for a model of ${this.layout.total}`);
    this.vars = d.model.trainableWeights.map((w) => w.read() as tf.Variable);
    writeParams(d.model, this.layout, d.params);
    // Synchronized batch-norm sums inside the backward pass too: a worker without samples makes those sums
    // apart from any pass, so it could not start the buckets between them in the same order as the others.
    this.overlap = d.startSum && statsSumLength(d.model) === 0 ? new GradientOverlap(d.model, this.layout, d.grads, d.startSum, d.overlapBytes) : undefined;
  }

  get overlapping(): boolean {
    return this.overlap !== undefined;
  }

  get paramCount(): number {
    return this.layout.total;
  }

  async train(cmd: StepCommand): Promise<StepResult> {
    const { model, data, spec, grads } = this.d;
    const t0 = performance.now();
    let lossSum = 0;
    let counts: Counts = {};
    let computeFrom = t0;
    const { objective } = this.d;
    const n = cmd.indices.length;
    if (n > 0) {
      const batch = await readSamples(data.train, cmd.indices);
      computeFrom = performance.now();
      this.d.spans?.add('data', t0, computeFrom);
      const shape = [n, ...data.train.featureShape];
      // The attack runs first, in inference mode, with the parameters every replica has.
      // (Adversarial jobs train on classes: their check refuses other losses.)
      const passes: TrainingPass[] = this.d.passMaker?.passes(model, batch.x, batch.y as Int32Array, cmd) ?? [{ x: batch.x, weight: 1, scored: true }];
      setDropoutContext(model, { seed: spec.seed, step: cmd.step, sampleIndices: cmd.indices });
      const xs = passes.map((p) => tf.tensor(p.x, shape));
      const y = objective.labelTensor(batch.y, n);
      let scored: tf.Tensor | undefined;
      const pass = () =>
        tf.variableGrads(() => {
          const terms = passes.map((p, i) => {
            const logits = model.apply(xs[i], { training: true }) as tf.Tensor;
            if (p.scored) scored = tf.keep(logits);
            const loss = objective.lossSum(logits, y);
            return p.weight === 1 ? loss : tf.mul(loss, p.weight);
          });
          return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
        }, this.vars);
      // With overlap, the hooks wrote (and started summing) some gradients already: the others are packed here.
      const { result: { value, grads: g }, hooked } = this.overlap ? this.overlap.run(pass) : { result: pass(), hooked: undefined };
      packTensors(this.vars.map((v) => g[v.name]), this.layout, grads, hooked);
      lossSum = value.dataSync()[0];
      counts = objective.counts(scored!, y);
      // A loss that is not finite makes the sum not finite on every worker, so that all of them skip the step alike (train.onNonFinite skip-step; without it the worker fails the job).
      if (!Number.isFinite(lossSum)) grads[0] = NaN;
      tf.dispose([...xs, y, value, scored!, ...Object.values(g)]);
      setDropoutContext(model, undefined);
    } else {
      // An empty shard still takes part in the collectives: the batch-norm
      // sums each training pass makes, and the gradient sum.
      takePartWithoutSamples(model, this.d.passMaker?.passCount ?? 1);
      grads.fill(0);
    }
    const t1 = performance.now();
    this.d.spans?.add('forward/backward', computeFrom, t1);
    this.overlap?.startRest();
    const applied = await this.d.update({ step: cmd.step, lr: cmd.lr, globalBatch: cmd.globalBatch }, this.overlap !== undefined);
    const t2 = performance.now();
    // The step's batch-norm statistics count only if its update did (a skipped step's may be NaN).
    if (applied) commitMovingStats(model);
    else discardMovingStats(model);
    writeParams(model, this.layout, this.d.params);
    const times = { computeMs: t1 - t0 + (performance.now() - t2), commMs: t2 - t1 };
    return applied ? { lossSum, count: cmd.indices.length, ...times, counts } : { lossSum: 0, count: 0, ...times, counts: {}, skipped: true };
  }

  async evaluate(indices: Int32Array, opts: { clean?: boolean; split?: EvalSplit } = {}): Promise<EvalResult> {
    const { model, passMaker, objective } = this.d;
    const samples = evalSplit(this.d.data, opts.split);
    writeParams(model, this.layout, this.d.params); // they may have been refreshed since the last step
    let lossSum = 0;
    const counts: Counts = {};
    const shape = samples.featureShape;
    const correctOn = (x: Float32Array, y: Int32Array) =>
      tf.tidy(() => countCorrect(model.predict(tf.tensor(x, [y.length, ...shape])) as tf.Tensor, tf.tensor1d(y, 'int32')));
    for (let a = 0; a < indices.length; a += EVAL_BATCH) {
      const part = indices.subarray(a, Math.min(indices.length, a + EVAL_BATCH));
      const batch = await readSamples(samples, part);
      const clean = tf.tidy(() => {
        const outputs = model.predict(tf.tensor(batch.x, [part.length, ...shape])) as tf.Tensor;
        const y = objective.labelTensor(batch.y, part.length);
        return { lossSum: objective.lossSum(outputs, y).dataSync()[0], counts: objective.counts(outputs, y) };
      });
      lossSum += clean.lossSum;
      for (const [k, v] of Object.entries(clean.counts)) counts[k] = (counts[k] ?? 0) + v;
      if (passMaker && !opts.clean) {
        // The coordinator sends contiguous slices of the test set: part[0] keys the random starts.
        const y = batch.y as Int32Array;
        for (const [name, x] of Object.entries(passMaker.evaluationInputs(model, batch.x, y, part[0]))) counts[name] = (counts[name] ?? 0) + correctOn(x, y);
      }
    }
    return { lossSum, count: indices.length, counts };
  }

  state(): Float32Array {
    return readState(this.d.model);
  }

  async agreeState(): Promise<void> {
    // Synchronized batch-norm keeps the replicas' state identical: nothing to send.
    if (hasReplicaState(this.d.model)) writeState(this.d.model, await this.d.broadcastState(readState(this.d.model)));
  }

  params(): Float32Array {
    // The shared buffer may change under a later update: hand out a copy.
    return this.d.params.slice();
  }
}
