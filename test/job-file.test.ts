/** Invalid job files: each a clear error naming the key and the file, exit code 2, nothing started. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadJobFile } from '../src/jobs/registry.js';
import { asSupervised } from '../src/jobs/supervised/spec.js';
import { psSettings } from '../src/spec/job-spec.js';
import { JobSpecError } from '../src/util/errors.js';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';

const tmpOwn = tempDir();
afterAll(() => tmpOwn.cleanup());

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const valid = `
name: ok
seed: 1
data: { source: synthetic, kind: blobs, samples: 200, features: 2, classes: 2 }
model: { zoo: mlp, hidden: [8] }
train: { epochs: 1, batchSize: 20, optimizer: { name: sgd, lr: 0.1 } }
cluster: { workers: 1, backend: cpu }
`;

interface Case {
  name: string;
  yaml?: string;
  /** Replace a line of the valid file: [from, to]. */
  edit?: [string, string];
  args?: string[];
  /** What the message must contain: the key, and what is wrong. */
  expect: RegExp[];
}

const cases: Case[] = [
  { name: 'unknown top-level key', edit: ['seed: 1', 'seed: 1\nsede: 2'], expect: [/sede: unknown key/] },
  { name: 'unknown nested key (typo)', edit: ['batchSize: 20', 'batchsize: 20'], expect: [/train\.batchsize: unknown key/] },
  { name: 'wrong type', edit: ['epochs: 1', 'epochs: three'], expect: [/train\.epochs: expected number, got string/] },
  { name: 'negative learning rate', edit: ['lr: 0.1', 'lr: -0.1'], expect: [/train\.optimizer\.lr/, /greater than 0/] },
  { name: 'batch smaller than the worker count', args: ['--workers', '3', '--set', 'train.batchSize=2'], expect: [/train\.batchSize/, /smaller than cluster\.workers \(3\)/] },
  { name: 'missing data path', edit: ['data: { source: synthetic, kind: blobs, samples: 200, features: 2, classes: 2 }', 'data: { source: fashion-mnist, path: /nonexistent/fmnist }'], expect: [/data\.path: no such directory: \/nonexistent\/fmnist/] },
  { name: 'unknown optimizer', edit: ['name: sgd', 'name: adamw'], expect: [/train\.optimizer\.name: must be one of "sgd", "momentum", "adagrad", "rmsprop", "adam"/] },
  { name: 'missing data section', edit: ['data: { source: synthetic, kind: blobs, samples: 200, features: 2, classes: 2 }', ''], expect: [/data: is required/] },
  { name: 'dropout rate of 1 or more', edit: ['hidden: [8]', 'hidden: [8], dropout: 1.5'], expect: [/model\.dropout/, /less than 1/] },
  { name: 'not YAML', yaml: 'name: [unclosed\n  - x: {', expect: [/not valid YAML or JSON/] },
  { name: 'a --set override with a bad value', args: ['--set', 'train.optimizer.lr=-1'], expect: [/train\.optimizer\.lr/] },
  { name: 'a job file that does not exist', args: ['__missing__'], expect: [/cannot read the job file \(ENOENT\)/] },
  { name: 'unknown model zoo entry', edit: ['zoo: mlp', 'zoo: perceptron'], expect: [/model\.zoo: must be one of "mlp", "cnn", "rnn", "lstm", "gru"/] },
  { name: 'a list instead of a mapping', yaml: '- name: x\n', expect: [/a job must be a mapping/] },
  { name: 'batch larger than the data set', edit: ['batchSize: 20', 'batchSize: 500'], expect: [/train\.batchSize: larger than the data set \(200 samples\)/] },
  { name: 'unknown backend', edit: ['backend: cpu', 'backend: webgl'], expect: [/cluster\.backend: must be one of "auto", "cpu", "wasm", "webgpu", "tensorflow", got "webgl"/] },
  { name: 'cnn on vector data', edit: ['zoo: mlp, hidden: [8]', 'zoo: cnn'], expect: [/model\.zoo: the cnn needs image data/] },
  { name: 'a job name that is ..', edit: ['name: ok', 'name: ".."'], expect: [/name: may not be "\." or "\.\." \(the output folder is runs\/<name>\)/] },
  { name: 'a job name that is .', edit: ['name: ok', 'name: "."'], expect: [/name: may not be "\." or "\.\."/] },
  { name: 'minWorkers above the worker count', args: ['--workers', '2', '--set', 'cluster.minWorkers=3'], expect: [/cluster\.minWorkers: more than cluster\.workers \(2\)/] },
  { name: 'maxWorkers below the worker count', args: ['--workers', '3', '--set', 'cluster.maxWorkers=2'], expect: [/cluster\.maxWorkers: fewer than cluster\.workers \(3\)/] },
  { name: 'maxWorkers above the global batch', args: ['--set', 'train.batchSize=4', '--set', 'cluster.maxWorkers=5'], expect: [/cluster\.maxWorkers: more than the global batch \(4\)/] },
  { name: 'ps settings under strategy ring', args: ['--ps-shards', '2'], expect: [/cluster\.ps: applies only to strategy ps \(cluster\.strategy is ring\)/] },
  { name: 'a negative staleness', edit: ['backend: cpu', 'backend: cpu, strategy: ps, ps: { staleness: -1 }'], expect: [/cluster\.ps\.staleness/, /greater than or equal to 0/] },
  { name: 'unknown batch-norm kind', edit: ['hidden: [8]', 'hidden: [8], batchNorm: global'], expect: [/model\.batchNorm: must be one of "none", "local", "sync", got "global"/] },
  { name: 'sync batch-norm under bounded staleness', edit: ['hidden: [8]', 'hidden: [8], batchNorm: sync'], args: ['--strategy', 'ps', '--staleness', '1'], expect: [/model\.batchNorm: sync needs every worker on the same step/] },
  { name: 'a gan job with a supervised optimizer key', yaml: 'name: g\ntype: gan\ndata: { source: synthetic, kind: ring8 }\ngenerator: { zoo: mlp }\ndiscriminator: { zoo: mlp }\ntrain: { optimizer: { name: sgd, lr: 0.1 } }\n', expect: [/train\.optimizer: unknown key/] },
  { name: 'a 2-D mixture with more features', edit: ['data: { source: synthetic, kind: blobs, samples: 200, features: 2, classes: 2 }', 'data: { source: synthetic, kind: ring8, features: 3 }'], expect: [/data\.features: ring8 is 2-dimensional/] },
  { name: 'a gan job on parameter servers', yaml: 'name: g\ntype: gan\ndata: { source: synthetic, kind: ring8 }\ngenerator: { zoo: mlp }\ndiscriminator: { zoo: mlp }\ncluster: { strategy: ps }\n', expect: [/cluster\.strategy: gan jobs run on strategy ring/] },
  { name: 'a gan job without a discriminator', yaml: 'name: g\ntype: gan\ndata: { source: synthetic, kind: ring8 }\ngenerator: { zoo: mlp }\n', expect: [/discriminator: is required/] },
  { name: 'a dcgan on 2-D points', yaml: 'name: g\ntype: gan\ndata: { source: synthetic, kind: ring8 }\ngenerator: { zoo: dcgan }\ndiscriminator: { zoo: mlp }\n', expect: [/generator\.zoo: dcgan needs image data/] },
  { name: 'a linear generator output for images', yaml: 'name: g\ntype: gan\ndata: { source: fashion-mnist }\ngenerator: { zoo: mlp }\ndiscriminator: { zoo: dcgan }\n', expect: [/generator\.output: must be tanh for image data/] },
  { name: 'a classifier score for 2-D points', yaml: 'name: g\ntype: gan\ndata: { source: synthetic, kind: ring8 }\ngenerator: { zoo: mlp }\ndiscriminator: { zoo: mlp }\ngan: { classifier: runs/x/model }\n', expect: [/gan\.classifier: scores generated images/] },
  { name: 'unknown key in a dcgan network', yaml: 'name: g\ntype: gan\ndata: { source: fashion-mnist }\ngenerator: { zoo: dcgan, hidden: [8] }\ndiscriminator: { zoo: dcgan }\n', expect: [/generator\.hidden: unknown key/] },
  { name: 'unknown job type', edit: ['seed: 1', 'seed: 1\ntype: rl'], expect: [/type: must be one of "supervised", "adversarial", "gan", "vae", "seq2seq"/] },
  { name: 'an adversarial loss with no term', edit: ['seed: 1', 'seed: 1\ntype: adversarial\nadversarial: { cleanWeight: 0, advWeight: 0 }'], expect: [/adversarial\.advWeight: cleanWeight and advWeight are both 0/] },
  { name: 'an unknown attack', edit: ['seed: 1', 'seed: 1\ntype: adversarial\nadversarial: { attack: cw }'], expect: [/adversarial\.attack: must be one of "pgd", "fgsm", got "cw"/] },
  { name: 'an adversarial section in a supervised job', edit: ['seed: 1', 'seed: 1\nadversarial: { epsilon: 0.1 }'], expect: [/adversarial: unknown key/] },
  { name: 'unknown key under cluster.ps', args: ['--strategy', 'ps', '--set', 'cluster.ps.shard=2'], expect: [/cluster\.ps\.shard: unknown key/] },
];

describe('invalid job files', () => {
  for (const c of cases) {
    it(`${c.name}: exit 2, names the key and the file, starts nothing`, async () => {
      let text = c.yaml ?? valid;
      if (c.edit) {
        expect(text).toContain(c.edit[0]);
        text = text.replace(c.edit[0], c.edit[1]);
      }
      const file = writeJob(tmp.dir, `${c.name.replace(/\W+/g, '-')}.yaml`, text);
      const out = join(tmp.dir, `out-${c.name.replace(/\W+/g, '-')}`);
      const args = c.args?.[0] === '__missing__' ? ['run', join(tmp.dir, 'missing.yaml'), '--out', out] : ['run', file, '--out', out, ...(c.args ?? [])];
      const r = await runCli(args);
      expect(r.code).toBe(2);
      const named = c.args?.[0] === '__missing__' ? 'missing.yaml' : file;
      expect(r.stderr).toContain(named);
      for (const re of c.expect) expect(r.stderr).toMatch(re);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('the valid file itself loads', () => {
    const spec = loadJobFile(writeJob(tmp.dir, 'valid.yaml', valid));
    expect(spec.train.batchSize).toBe(20);
    expect(spec.cluster.strategy).toBe('ring');
  });

  it('--set parses YAML values and creates missing sections', () => {
    const spec = loadJobFile(writeJob(tmp.dir, 'valid2.yaml', valid), { set: ['train.clipNorm=1.5', 'model.hidden=[4, 4]', 'train.lrDecay={kind: step, rate: 0.5, every: 3}'], workers: 2 });
    expect(spec.train.clipNorm).toBe(1.5);
    expect(asSupervised(spec).model).toMatchObject({ hidden: [4, 4] });
    expect(spec.train.lrDecay).toEqual({ kind: 'step', rate: 0.5, every: 3 });
    expect(spec.cluster.workers).toBe(2);
  });

  it('--strategy ps, --ps-shards and --staleness fill cluster.ps', () => {
    const spec = loadJobFile(writeJob(tmp.dir, 'valid-ps.yaml', valid), { strategy: 'ps', psShards: 3, staleness: 2 });
    expect(spec.cluster).toMatchObject({ strategy: 'ps', ps: { shards: 3, staleness: 2 } });
    expect(psSettings(loadJobFile(writeJob(tmp.dir, 'valid-ps2.yaml', valid), { strategy: 'ps' }).cluster)).toEqual({ shards: 1, staleness: undefined });
  });

  it('reports every problem at once, as JobSpecError issues', () => {
    const file = writeJob(tmp.dir, 'two.yaml', valid.replace('epochs: 1', 'epochs: 0').replace('seed: 1', 'seed: -1'));
    try {
      loadJobFile(file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JobSpecError);
      expect((err as JobSpecError).issues.map((i) => i.path).sort()).toEqual(['seed', 'train.epochs']);
    }
  });

  it('bad command-line values are usage errors, exit 2', async () => {
    const file = writeJob(tmp.dir, 'valid3.yaml', valid);
    const r = await runCli(['run', file, '--workers', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workers must be a whole number/);
    const s = await runCli(['run', file, '--strategy', 'tree']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/Allowed choices are ring, ps/);
    const k = await runCli(['run', file, '--strategy', 'ps', '--ps-shards', '0']);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/--ps-shards must be a whole number ≥ 1/);
  });
});

describe('own model and data: paths relative to the job file', () => {
  it('data files and the model module resolve against the job file, not the current folder; missing ones are named', () => {
    const dir = join(tmpOwn.dir, 'proj');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rows.csv'), 'a,b\n1,x\n2,y\n');
    writeFileSync(join(dir, 'm.mjs'), 'export default () => null;\n');
    const file = writeJob(dir, 'job.json', { name: 'own', data: { source: 'csv', path: 'rows.csv', label: 'b' }, model: { module: './m.mjs' } });
    const spec = asSupervised(loadJobFile(file));
    expect((spec.data as { path: string }).path).toBe(join(dir, 'rows.csv'));
    expect((spec.model as { module: string }).module).toBe(join(dir, 'm.mjs'));
    const missing = writeJob(dir, 'missing.json', { name: 'own', data: { source: 'csv', path: 'nope.csv', label: 'b' }, model: { module: './m.mjs' } });
    expect(() => loadJobFile(missing)).toThrow(`data.path: no such file: ${join(dir, 'nope.csv')}`);
    const both = writeJob(dir, 'both.json', { name: 'own', data: { source: 'csv', path: 'rows.csv', label: 'b', testPath: 'rows.csv', testFraction: 0.1 }, model: { module: './m.mjs' } });
    expect(() => loadJobFile(both)).toThrow('data.testFraction: give testPath or testFraction, not both');
    const pairs = writeJob(dir, 'pairs.json', { name: 'own', data: { source: 'npy', x: 'rows.csv', y: 'rows.csv', testX: 'rows.csv' }, model: { module: './m.mjs' } });
    expect(() => loadJobFile(pairs)).toThrow('data.testY: testX and testY go together');
  });
});

describe('train.onNonFinite', () => {
  it('skip-step is for strategy ring: with ps it is refused, naming why', () => {
    const file = writeJob(tmpOwn.dir, 'skip-ps.json', { name: 'skip', data: { source: 'synthetic', kind: 'blobs' }, model: { zoo: 'mlp' }, train: { onNonFinite: 'skip-step' }, cluster: { strategy: 'ps' } });
    expect(() => loadJobFile(file)).toThrow(/train\.onNonFinite: skip-step applies only to strategy ring \(cluster\.strategy is ps\)/);
    const squeezed = writeJob(tmpOwn.dir, 'skip-bf16.json', { name: 'skip', data: { source: 'synthetic', kind: 'blobs' }, model: { zoo: 'mlp' }, train: { onNonFinite: 'skip-step' }, cluster: { compression: 'bf16' } });
    expect(() => loadJobFile(squeezed)).toThrow(/train\.onNonFinite: skip-step cannot go with cluster\.compression bf16/);
    const ring = writeJob(tmpOwn.dir, 'skip-ring.json', { name: 'skip', data: { source: 'synthetic', kind: 'blobs' }, model: { zoo: 'mlp' }, train: { onNonFinite: 'skip-step' } });
    expect(loadJobFile(ring).train.onNonFinite).toBe('skip-step');
  });
});
