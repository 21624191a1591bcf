/** The network of a seq2seq job: one Seq2seqAttention layer reading [source | decoder inputs] rows, from the job's model section and seed. */
import * as tfl from '@tensorflow/tfjs-layers';
import { sourceSteps, targetSteps } from './batch.js';
import { Seq2seqAttention, type Seq2seqConfig } from './layer.js';
import type { Seq2seqJob } from './spec.js';

/** The layer's config for a job: the additive attention is as wide as the decoder unless the job says otherwise. */
export function layerConfigOf(spec: Pick<Seq2seqJob, 'data' | 'model' | 'seed'>): Seq2seqConfig {
  const { model, data } = spec;
  const width = model.units * (model.bidirectional ? 2 : 1);
  return {
    vocab: data.vocab,
    maxLength: data.maxLength,
    cell: model.cell,
    units: model.units,
    embedding: model.embedding,
    bidirectional: model.bidirectional,
    attention: model.attention,
    attentionUnits: model.attentionUnits ?? width,
    seed: spec.seed,
  };
}

/** The job's network, the same on every process that builds it (its weights are built in this synchronous call). */
export function buildSeq2seq(spec: Pick<Seq2seqJob, 'data' | 'model' | 'seed'>): tfl.LayersModel {
  const inputShape = [sourceSteps(spec.data.maxLength) + targetSteps(spec.data.maxLength)];
  return tfl.sequential({ layers: [new Seq2seqAttention({ ...layerConfigOf(spec), inputShape })] });
}

/** The encoder–decoder layer of a seq2seq network (built here or loaded from its files). */
export function seq2seqLayerOf(model: tfl.LayersModel): Seq2seqAttention {
  const layer = model.layers.find((l) => l instanceof Seq2seqAttention);
  if (!layer) throw new Error(`model ${model.name} has no ${Seq2seqAttention.className} layer`);
  return layer as Seq2seqAttention;
}
