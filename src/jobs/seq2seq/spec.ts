/**
 * The job file of a `type: seq2seq` job: the common keys with a `data`
 * section of its own (a synthetic sequence task drawn from the job seed),
 * the encoder–decoder `model`, `train` with its optimizer, and `eval`
 * (the beam search that scores the test set, the attention picture).
 */
import { z } from 'zod';
import { jobCommon, trainSchema, type IssueReporter, type JobSpec } from '../../spec/job-spec.js';
import { evalEvery, positiveInt } from '../../spec/parts.js';

/** Symbols are drawn as one character each in the attention picture: 0–9, then A–Z. */
export const MAX_VOCAB = 36;
/** The longest sequence: the recurrent passes run one step per symbol. */
export const MAX_LENGTH = 64;

export const sequenceDataSchema = z
  .object({
    /** The task's own sequences, generated from the job seed on every process (a seq2seq job reads no files). */
    source: z.literal('sequences').default('sequences'),
    /**
     * reverse: the target is the source backwards; sort: the source's
     * symbols in ascending order. Either way followed by an end token.
     */
    task: z.enum(['reverse', 'sort']).default('reverse'),
    /** How many symbols there are (10: the digits 0–9; up to 36, then the letters A–Z). */
    vocab: z.number().int().min(2).max(MAX_VOCAB).default(10),
    /** The shortest source string. */
    minLength: positiveInt.max(MAX_LENGTH).default(3),
    /** The longest source string; lengths are uniform in [minLength, maxLength]. */
    maxLength: positiveInt.max(MAX_LENGTH).default(8),
    /** Training pairs. */
    train: positiveInt.max(1_000_000).default(20_000),
    /** Test pairs, drawn apart from the training ones (the same string may occur in both). */
    test: positiveInt.max(1_000_000).default(1000),
  })
  .strict();

export const seq2seqModelSchema = z
  .object({
    /** The recurrent cell of the encoder and of the decoder. */
    cell: z.enum(['gru', 'lstm']).default('gru'),
    /** The encoder's state size (each direction's); the decoder's is the encoder outputs' (twice this when bidirectional). */
    units: positiveInt.max(1024).default(64),
    /** The size of each token's embedding (one table for source and target tokens). */
    embedding: positiveInt.max(1024).default(32),
    /** Read the source both ways: each position's output is the two directions' states side by side. */
    bidirectional: z.boolean().default(false),
    /**
     * How a decoder state scores the source positions: additive (Bahdanau
     * et al.: vᵀ tanh(W₁h + W₂s)) or dot (Luong et al.: hᵀs).
     */
    attention: z.enum(['additive', 'dot']).default('additive'),
    /** The size of the additive attention's hidden layer (default: the decoder's state size). Additive only. */
    attentionUnits: positiveInt.max(1024).optional(),
  })
  .strict();

export const seq2seqEvalSchema = z
  .object({
    /** Hypotheses the beam search keeps per test sample (1: greedy decoding). */
    beamWidth: positiveInt.max(64).default(4),
    /** Test examples whose attention weights attention.png shows (0: no picture). */
    pictures: z.number().int().min(0).max(16).default(4),
  })
  .strict();

export const seq2seqJobSchema = z
  .object({
    ...jobCommon,
    type: z.literal('seq2seq'),
    data: sequenceDataSchema.default({}),
    model: seq2seqModelSchema.default({}),
    train: trainSchema.extend({ evalEvery }).default({}),
    eval: seq2seqEvalSchema.default({}),
  })
  .strict();

export type SequenceDataSpec = z.infer<typeof sequenceDataSchema>;
export type Seq2seqModelSpec = z.infer<typeof seq2seqModelSchema>;
export type Seq2seqJob = z.infer<typeof seq2seqJobSchema>;

/** The spec of a seq2seq job (it has passed the schema); throws for other types. */
export function asSeq2seq(spec: JobSpec): Seq2seqJob {
  if (spec.type !== seq2seqJobSchema.shape.type.value) throw new Error(`job ${spec.name} is of type ${spec.type}, not seq2seq`);
  return spec as unknown as Seq2seqJob;
}

/** What the schema cannot say: lengths in order, a batch and pictures the data can fill, attentionUnits with its attention. */
export function checkSeq2seq(job: JobSpec, issue: IssueReporter): void {
  const { data, model, train, eval: ev } = asSeq2seq(job);
  if (data.minLength > data.maxLength) issue(['data', 'minLength'], `larger than data.maxLength (${data.maxLength})`);
  if (train.batchSize > data.train) issue(['train', 'batchSize'], `larger than the training set (data.train: ${data.train} pairs)`);
  if (ev.pictures > data.test) issue(['eval', 'pictures'], `more than the test set (data.test: ${data.test} pairs)`);
  if (model.attentionUnits !== undefined && model.attention !== 'additive') issue(['model', 'attentionUnits'], `applies only to attention additive (model.attention is ${model.attention})`);
  if (job.cluster.overlap) issue(['cluster', 'overlap'], 'seq2seq jobs sum their gradients after the backward pass: drop cluster.overlap');
}
