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
import { Evaluations, type Evaluation } from '../../coordinator/periodic-evaluation.js';
import { evaluateTestSet } from '../../coordinator/evaluation.js';
import { checkpointAfter, fetchAgreed, restoreCheckpoint, startShards, startWorkers, waitForMembers, type JobContext, type JobResult, type Scores } from '../../coordinator/job-context.js';
import { savePicture, stepTimes } from '../../coordinator/metrics.js';
import { runSteps, type StepSource } from '../../coordinator/step-loop.js';
import { BatchSchedule, planSteps } from '../../data/sharding.js';
import { psSettings } from '../../spec/job-spec.js';
import { initBackend } from '../../tensor/backend.js';
import { readAllParams } from '../../tensor/flat.js';
import { saveModel } from '../../tensor/models/save.js';
import { lrAt } from '../../tensor/schedule.js';
import { attentionPicture } from './attention-picture.js';
import { encodeSources } from './batch.js';
import { pairsAt, symbolName } from './data.js';
import { greedyDecode } from './decode.js';
import { buildSeq2seq, seq2seqLayerOf } from './model.js';
import { evalScores, trainScores } from './scores.js';
import type { Seq2seqJob } from './spec.js';

/** The training window's sums. */
interface Window {
  loss: number;
  tokens: number;
  count: number;
}

/** A test pair and its greedy decoding, as strings of symbols (summary.json's `seq2seq.examples`). */
interface Example {
  source: string;
  target: string;
  greedy: string;
}

export async function runSeq2seqJob(ctx: JobContext, spec: Seq2seqJob): Promise<JobResult> {
  await initBackend('cpu');
  const model = buildSeq2seq(spec);
  const ps = psSettings(spec.cluster);
  const resumed = await restoreCheckpoint(ctx, { model }, ps !== undefined);
  const { workers, shards } = await waitForMembers(ctx);
  const collective = await startShards(ctx, shards, readAllParams([model]), spec.train, ps?.staleness, resumed.shards);
  const backend = await startWorkers(ctx, workers, [model], collective, resumed.workers, resumed.replicaStates);
  const plan = planSteps(spec.data.train, spec.train.batchSize, spec.train.epochs, spec.train.maxSteps);
  const schedule = new BatchSchedule(spec.seed, spec.data.train, spec.train.batchSize, plan);
  ctx.log.info({ steps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, workers: workers.length, shards: shards.length, backend }, 'training a seq2seq network');
  const lr = (step: number) => lrAt(spec.train.optimizer.lr, spec.train.lrDecay, step, plan.totalSteps);
  // The metric window and the last logged figures: a checkpoint keeps them, so a resumed run logs what an undisturbed one does.
  const kept = ctx.resume?.loop as { window: Window; last: Scores; evaluations?: Evaluation[] } | undefined;
  // Decoding the test set every train.evalEvery steps (default each epoch's end): exact-match and token-accuracy curves.
  const evaluations = new Evaluations(ctx, workers, {
    every: spec.train.evalEvery,
    stepsPerEpoch: plan.stepsPerEpoch,
    totalSteps: plan.totalSteps,
    periodic: { split: 'test', size: spec.data.test },
    score: (sums) => evalScores(sums, spec.eval.beamWidth),
    logged: ({ greedy, beamWidth: _width, ...beam }) => ({ ...beam, greedyExactMatch: greedy.exactMatch, greedyTokenAccuracy: greedy.tokenAccuracy }),
    kept: kept?.evaluations,
  });
  const fresh = (): Window => ({ loss: 0, tokens: 0, count: 0 });
  let window = kept?.window ?? fresh();
  let last: Scores = kept?.last ?? { loss: NaN, tokenLoss: NaN };
  const source: StepSource = {
    totalSteps: plan.totalSteps,
    command: (step) => {
      const batch = schedule.batch(step);
      return { header: { step, epoch: schedule.epochOf(step), lr: lr(step), globalBatch: batch.length }, batch };
    },
  };
  const checkpointed = { workers, shards, networks: { model }, loop: () => ({ window, last, evaluations: evaluations.list }) };
  const t0 = performance.now();
  ctx.checkpoints.start(plan.totalSteps, plan.stepsPerEpoch);
  const samples = await runSteps(ctx, workers, source, ps?.staleness, async (step, done, rate) => {
    for (const d of done) [window.loss, window.tokens, window.count] = [window.loss + d.header.lossSum, window.tokens + (d.header.counts.tokens ?? 0), window.count + d.header.count];
    ctx.progress.update({ step: step + 1, total: plan.totalSteps, loss: window.loss / window.count, samplesPerSecond: rate });
    // (A window of skipped steps only, train.onNonFinite skip-step, has no figures to log.)
    if (((step + 1) % spec.train.logEvery === 0 || step + 1 === plan.totalSteps) && window.count > 0) {
      last = trainScores(window);
      ctx.metrics.log({ epoch: schedule.epochOf(step), lr: lr(step), ...last, samplesPerSecond: rate, ...stepTimes(done.map((d) => d.header)) } as Record<string, number>, step + 1);
      window = fresh();
    }
    await evaluations.after(step);
    await checkpointAfter(ctx, step, checkpointed);
  }, ctx.resume?.step, evaluations.due);
  ctx.checkpoints.finish();
  const trainSeconds = (performance.now() - t0) / 1000 - evaluations.seconds;
  ctx.progress.done();
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
