/**
 * The seq2seq step program. A step: the shard's pairs (drawn from the job
 * seed by their global indices), the teacher-forced pass, the gradient of
 * the SUM over the shard of each sample's summed per-token cross-entropy,
 * then the strategy's update (sum over workers, divide by the global
 * batch, clip, optimizer step). Nothing in it is random, so N workers
 * compute exactly what one process does on the whole batch.
 *
 * An evaluation slice: the teacher-forced test loss, greedy decoding and
 * beam search (eval.beamWidth), counted against the targets (scores.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { EvalSplit } from '../../data/dataset.js';
import { layoutOf, packTensors, readState, writeParams, type FlatLayout } from '../../tensor/flat.js';
import type { Counts, EvalResult, ProgramDeps, StepCommand, StepProgram, StepResult } from '../../worker/step-program.js';
import { updateAndFinish } from '../../worker/step-update.js';
import { encodeBatch, encodeSources, type EncodedBatch } from './batch.js';
import { pairsAt } from './data.js';
import { beamSearch, greedyDecode } from './decode.js';
import { maskedCrossEntropySum } from './loss.js';
import { seq2seqLayerOf } from './model.js';
import { evaluationCounts } from './scores.js';
import type { Seq2seqJob } from './spec.js';

export interface Seq2seqDeps extends Pick<ProgramDeps, 'params' | 'grads' | 'update' | 'spans'> {
  spec: Seq2seqJob;
  model: LayersModel;
}

/** Beam rows decoded at once (test pairs × beam width): bounds the decoder's memory whatever the width. */
const EVAL_ROWS = 1000;

export class Seq2seqProgram implements StepProgram {
  private readonly layout: FlatLayout;
  private readonly vars: tf.Variable[];

  constructor(private readonly d: Seq2seqDeps) {
    this.layout = layoutOf(d.model);
    if (d.params.length !== this.layout.total) throw new Error(`initial parameters: ${d.params.length} values for a model of ${this.layout.total}`);
    if (d.grads.length !== this.layout.total) throw new Error(`gradient buffer: ${d.grads.length} values for a model of ${this.layout.total}`);
    this.vars = d.model.trainableWeights.map((w) => w.read() as tf.Variable);
    writeParams(d.model, this.layout, d.params);
  }

  get paramCount(): number {
    return this.layout.total;
  }

  async train(cmd: StepCommand): Promise<StepResult> {
    const { grads } = this.d;
    const t0 = performance.now();
    let lossSum = 0;
    let counts: Counts = {};
    let computeFrom = t0;
    if (cmd.indices.length > 0) {
      const batch = this.trainingBatch(cmd.indices);
      computeFrom = performance.now();
      this.d.spans?.add('data', t0, computeFrom);
      const { value, grads: g } = tf.variableGrads(() => this.lossOf(batch, true), this.vars);
      packTensors(this.vars.map((v) => g[v.name]), this.layout, grads);
      lossSum = value.dataSync()[0];
      counts = { tokens: batch.tokens };
      // A loss that is not finite makes every worker's sum not finite: all skip the step alike (train.onNonFinite skip-step) or fail.
      if (!Number.isFinite(lossSum)) grads[0] = NaN;
      tf.dispose([value, ...Object.values(g)]);
    } else {
      grads.fill(0);
    }
    return updateAndFinish(this.d, cmd, { t0, computeFrom, lossSum, count: cmd.indices.length, counts }, () => writeParams(this.d.model, this.layout, this.d.params));
  }

  evaluate(indices: Int32Array, opts: { split?: EvalSplit } = {}): EvalResult {
    if (opts.split === 'validation') throw new Error('a seq2seq job holds out no validation split: it evaluates its test pairs');
    const { spec, model } = this.d;
    writeParams(model, this.layout, this.d.params); // they may have been refreshed since the last step
    const layer = seq2seqLayerOf(model);
    const { maxLength } = spec.data;
    let lossSum = 0;
    const counts: Counts = {};
    const slice = Math.max(1, Math.floor(EVAL_ROWS / spec.eval.beamWidth));
    for (let a = 0; a < indices.length; a += slice) {
      const part = indices.subarray(a, Math.min(indices.length, a + slice));
      const pairs = pairsAt(spec.data, spec.seed, 'test', part);
      lossSum += tf.tidy(() => this.lossOf(encodeBatch(pairs, maxLength, layer.tokens), false).dataSync()[0]);
      const sources = encodeSources(pairs, maxLength, layer.tokens);
      const greedy = greedyDecode(layer, sources, pairs.length).hypotheses;
      const beam = spec.eval.beamWidth === 1 ? greedy : beamSearch(layer, sources, pairs.length, spec.eval.beamWidth);
      for (const [k, v] of Object.entries(evaluationCounts(beam, greedy, pairs, layer.tokens.end))) counts[k] = (counts[k] ?? 0) + v;
    }
    return { lossSum, count: indices.length, counts };
  }

  state(): Float32Array {
    return readState(this.d.model);
  }

  async agreeState(): Promise<void> {
    // No state besides the parameters: nothing to agree on.
  }

  params(): Float32Array {
    // The shared buffer may change under a later update: hand out a copy.
    return this.d.params.slice();
  }

  /** The training pairs at `indices`, encoded. */
  private trainingBatch(indices: Int32Array): EncodedBatch {
    const { spec, model } = this.d;
    return encodeBatch(pairsAt(spec.data, spec.seed, 'train', indices), spec.data.maxLength, seq2seqLayerOf(model).tokens);
  }

  /** The summed loss of an encoded batch, through the model (training: the pass the gradient runs back through). */
  private lossOf(b: EncodedBatch, training: boolean): tf.Scalar {
    const T = b.target.length / b.size;
    const x = tf.tensor2d(b.input, [b.size, b.input.length / b.size]);
    const logits = (training ? this.d.model.apply(x, { training: true }) : this.d.model.predict(x)) as tf.Tensor3D;
    return maskedCrossEntropySum(logits, tf.tensor2d(b.target, [b.size, T], 'int32'), tf.tensor2d(b.weight, [b.size, T]));
  }
}
