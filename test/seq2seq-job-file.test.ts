/**
 * The job file of a seq2seq job: its defaults, each of its keys refused when
 * wrong with an error naming the key, its checks across keys, and the
 * shipped config, which dtrain and the job file's JSON Schema both accept.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_JOB_TYPE, JOB_TYPES, loadJobFile, parseJobSpec } from '../src/jobs/registry.js';
import { asSeq2seq } from '../src/jobs/seq2seq/spec.js';
import { jobJsonSchema } from '../src/spec/json-schema.js';

const CONFIG = new URL('../configs/seq2seq-attention.yaml', import.meta.url).pathname;

const base = { name: 's2s', type: 'seq2seq' };

/** A job with `section`'s keys replaced by `keys`. */
const withKeys = (section: 'data' | 'model' | 'eval' | 'train' | 'cluster', keys: Record<string, unknown>) => ({ ...base, [section]: keys });

const parse = (job: unknown) => parseJobSpec(job, 's2s.yaml');

describe('a seq2seq job file', () => {
  it('needs only a name and its type: every section has defaults', () => {
    const spec = asSeq2seq(parse(base));
    expect(spec.data).toEqual({ source: 'sequences', task: 'reverse', vocab: 10, minLength: 3, maxLength: 8, train: 20_000, test: 1000 });
    expect(spec.model).toEqual({ cell: 'gru', units: 64, embedding: 32, bidirectional: false, attention: 'additive' });
    expect(spec.eval).toEqual({ beamWidth: 4, pictures: 4 });
    expect(spec.train.batchSize).toBe(128);
  });

  const cases: [string, unknown, RegExp][] = [
    ['an unknown task', withKeys('data', { task: 'copy' }), /s2s\.yaml: data\.task: must be one of "reverse", "sort", got "copy"/],
    ['another data source', withKeys('data', { source: 'synthetic' }), /data\.source/],
    ['an unknown data key', withKeys('data', { samples: 100 }), /data\.samples: unknown key/],
    ['a vocabulary of one symbol', withKeys('data', { vocab: 1 }), /data\.vocab/],
    ['a vocabulary beyond the 36 drawable symbols', withKeys('data', { vocab: 37 }), /data\.vocab/],
    ['a fractional vocabulary', withKeys('data', { vocab: 2.5 }), /data\.vocab/],
    ['a minimum length of 0', withKeys('data', { minLength: 0 }), /data\.minLength/],
    ['a maximum length over 64', withKeys('data', { maxLength: 65 }), /data\.maxLength/],
    ['a minimum length above the maximum', withKeys('data', { minLength: 6, maxLength: 4 }), /data\.minLength: larger than data\.maxLength \(4\)/],
    ['no training pairs', withKeys('data', { train: 0 }), /data\.train/],
    ['no test pairs', withKeys('data', { test: 0 }), /data\.test/],
    ['lengths given as text', withKeys('data', { maxLength: 'eight' }), /data\.maxLength: expected number, got string/],
    ['an unknown cell', withKeys('model', { cell: 'rnn' }), /model\.cell: must be one of "gru", "lstm", got "rnn"/],
    ['no units', withKeys('model', { units: 0 }), /model\.units/],
    ['no embedding', withKeys('model', { embedding: 0 }), /model\.embedding/],
    ['bidirectional as text', withKeys('model', { bidirectional: 'yes' }), /model\.bidirectional: expected boolean, got string/],
    ['an unknown attention', withKeys('model', { attention: 'general' }), /model\.attention: must be one of "additive", "dot", got "general"/],
    ['attention units of 0', withKeys('model', { attentionUnits: 0 }), /model\.attentionUnits/],
    ['attention units for dot attention', withKeys('model', { attention: 'dot', attentionUnits: 16 }), /model\.attentionUnits: applies only to attention additive \(model\.attention is dot\)/],
    ['gradient sums overlapped with the backward pass', withKeys('cluster', { overlap: true }), /cluster\.overlap: seq2seq jobs sum their gradients after the backward pass/],
    ['a classifier zoo key', withKeys('model', { zoo: 'lstm' }), /model\.zoo: unknown key/],
    ['a beam of width 0', withKeys('eval', { beamWidth: 0 }), /eval\.beamWidth/],
    ['a beam wider than 64', withKeys('eval', { beamWidth: 65 }), /eval\.beamWidth/],
    ['more than 16 pictures', withKeys('eval', { pictures: 17 }), /eval\.pictures/],
    ['more pictures than test pairs', { ...base, data: { test: 3 }, eval: { pictures: 4 } }, /eval\.pictures: more than the test set \(data\.test: 3 pairs\)/],
    ['an unknown eval key', withKeys('eval', { beam: 4 }), /eval\.beam: unknown key/],
    ['a batch larger than the training set', { ...base, data: { train: 50 }, train: { batchSize: 64 } }, /train\.batchSize: larger than the training set \(data\.train: 50 pairs\)/],
    ['a batch smaller than the worker count (the common checks)', { ...base, train: { batchSize: 2 }, cluster: { workers: 3 } }, /train\.batchSize: the global batch \(2\) is smaller than cluster\.workers \(3\)/],
    ['an unknown top-level key', { ...base, gan: {} }, /gan: unknown key/],
  ];

  for (const [name, job, message] of cases) {
    it(`refuses ${name}, naming the key`, () => {
      expect(() => parse(job)).toThrow(message);
    });
  }

  it('takes every key at a valid value', () => {
    const spec = asSeq2seq(
      parse({
        ...base,
        data: { source: 'sequences', task: 'sort', vocab: 36, minLength: 5, maxLength: 5, train: 10, test: 2 },
        model: { cell: 'lstm', units: 4, embedding: 3, bidirectional: true, attention: 'additive', attentionUnits: 7 },
        eval: { beamWidth: 64, pictures: 2 },
        train: { batchSize: 10 },
      }),
    );
    expect(spec).toMatchObject({ data: { task: 'sort', vocab: 36 }, model: { cell: 'lstm', attentionUnits: 7 }, eval: { beamWidth: 64, pictures: 2 } });
  });

  it('ships configs/seq2seq-attention.yaml: 2 workers, clipping, valid for dtrain and for the JSON Schema', () => {
    const spec = asSeq2seq(loadJobFile(CONFIG));
    expect(spec).toMatchObject({ type: 'seq2seq', cluster: { workers: 2 }, data: { task: 'reverse' } });
    expect(spec.train.clipNorm).toBeGreaterThan(0);
    const validate = new Ajv({ strict: true, allErrors: true }).compile(jobJsonSchema(JOB_TYPES, DEFAULT_JOB_TYPE));
    expect(validate(YAML.parse(readFileSync(CONFIG, 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...base, model: { cell: 'rnn' } })).toBe(false);
  });
});
