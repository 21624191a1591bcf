/**
 * The coordinator's side of a seq2seq job. The message sequence is a
 * supervised job's (start, steps, eval, agree, fetchParams, stop): the
 * steps are the epochs' batch schedule over the training pairs' indices
 * (the workers draw the pairs themselves), the evaluation decodes the
 * test pairs on the workers and sums their counts. Then the coordinator
 * saves the network to DIR/model and draws the attention of greedy
 * decoding on the first test pairs (DIR/attention.png, and TensorBoard).
 */
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { trainEpochs } from '../../coordinator/epoch-loop.js';
import { evaluateTestSet } from '../../coordinator/evaluation.js';
import { fetchAgreed, startTraining, type JobContext, type JobResult, type Scores } from '../../coordinator/job-context.js';
import { savePicture } from '../../coordinator/metrics.js';
import { initBackend } from '../../tensor/backend.js';
import { saveModel } from '../../tensor/models/save.js';
import { attentionPicture } from './attention-picture.js';
import { encodeSources } from './batch.js';
import { pairsAt, symbolName } from './data.js';
import { greedyDecode } from './decode.js';
import { buildSeq2seq, seq2seqLayerOf } from './model.js';
import { evalScores, trainScores } from './scores.js';
import type { Seq2seqJob } from './spec.js';

/** A test pair and its greedy decoding, as strings of symbols (summary.json's `seq2seq.examples`). */
interface Example {
  source: string;
  target: string;
  greedy: string;
}

export async function runSeq2seqJob(ctx: JobContext, spec: Seq2seqJob): Promise<JobResult> {
  await initBackend('cpu');
  const model = buildSeq2seq(spec);
  const members = await startTraining(ctx, { model }, spec.train);
  const { workers, backend } = members;
  // Decoding the test set every train.evalEvery steps (default each epoch's end): exact-match and token-accuracy curves.
  const { plan, samples, trainSeconds, last, evaluations } = await trainEpochs(ctx, {
    seed: spec.seed,
    trainSize: spec.data.train,
    train: spec.train,
    members,
    trainScores: (sums) => trainScores({ loss: sums.lossSum, tokens: sums.counts.tokens ?? 0, count: sums.count }),
    initialScores: { loss: NaN, tokenLoss: NaN },
    evaluation: {
      periodic: { split: 'test', size: spec.data.test },
      score: (sums) => evalScores(sums, spec.eval.beamWidth),
      logged: ({ greedy, beamWidth: _width, ...beam }) => ({ ...beam, greedyExactMatch: greedy.exactMatch, greedyTokenAccuracy: greedy.tokenAccuracy }),
    },
    logged: { task: spec.data.task },
  });
  ctx.progress.note(`decoding ${spec.data.test} test pairs: greedy, and beam search of width ${spec.eval.beamWidth}`);
  const scores = evaluations.record(plan.totalSteps, await evaluateTestSet(ctx, workers, spec.data.test));
  ctx.log.info(scores, 'evaluated');
  await fetchAgreed(ctx, workers, [model]);
  await saveModel(model, join(ctx.outDir, 'model'));
  const examples = drawAttention(ctx, spec, model, plan.totalSteps);
  return {
    backend,
    steps: plan.totalSteps,
    epochs: plan.totalSteps / plan.stepsPerEpoch,
    samples,
    trainSeconds,
    train: last,
    // summary.json's eval holds greedy decoding's scores as an object beside beam search's figures.
    eval: scores as unknown as Scores,
    sections: { evaluations: evaluations.list, seq2seq: { task: spec.data.task, ...(examples.length > 0 ? { picture: 'attention.png' } : {}), examples } },
  };
}

/** attention.png from the trained network on the first eval.pictures test pairs; returns those pairs and their decodings. */
function drawAttention(ctx: JobContext, spec: Seq2seqJob, model: LayersModel, step: number): Example[] {
  const n = spec.eval.pictures;
  if (n === 0) return [];
  const layer = seq2seqLayerOf(model);
  const pairs = pairsAt(spec.data, spec.seed, 'test', Int32Array.from({ length: n }, (_, i) => i));
  const decoded = greedyDecode(layer, encodeSources(pairs, spec.data.maxLength, layer.tokens), n, true);
  const examples = pairs.map((p, i) => ({ ...p, ...decoded.hypotheses[i], weights: decoded.attention![i] }));
  const title = `${spec.data.task} ${spec.model.cell} ${spec.model.attention} attention`;
  savePicture(ctx.outDir, ctx.metrics, 'attention', 'attention.png', attentionPicture(examples, spec.data.maxLength, title), step);
  const text = (s: number[]) => s.map(symbolName).join('');
  return examples.map((e) => ({ source: text(e.source), target: text(e.target), greedy: text(e.tokens) + (e.ended ? '' : '…') }));
}
