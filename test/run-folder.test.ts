/**
 * A run never replaces an earlier one silently: `dtrain run` into a folder
 * that holds an earlier run is an error (exit 2) that leaves it untouched and
 * says how to continue it or replace it; `--overwrite` replaces it; a file
 * in the way, or a non-empty folder that is not a run's, is an error too,
 * whatever the flags. (Before this, a re-run wrote over runs/<name>, and a
 * file in the way gave a raw EEXIST.)
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const job = (seed: number) => ({
  name: 'folder',
  seed,
  data: { source: 'synthetic', kind: 'blobs', samples: 200, features: 4, classes: 3 },
  model: { zoo: 'mlp', hidden: [8] },
  train: { epochs: 1, batchSize: 20 },
  cluster: { workers: 1, backend: 'cpu' },
});

describe('run folders', () => {
  it('an earlier run is kept unless --overwrite, and the error says what to do', async () => {
    const out = join(tmp.dir, 'runs', 'folder');
    const first = await runCli(['run', writeJob(tmp.dir, 'a.json', job(1)), '--out', out, '--no-progress', '--insecure']);
    expect(first.code, first.stderr).toBe(0);
    const summary = readFileSync(join(out, 'summary.json'), 'utf8');

    const again = await runCli(['run', writeJob(tmp.dir, 'b.json', job(2)), '--out', out, '--no-progress', '--insecure']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/holds an earlier run/);
    expect(again.stderr).toMatch(/--overwrite replaces it/);
    expect(again.stderr).not.toMatch(/--resume/); // it finished: nothing to continue
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(summary);
    // An interrupted run keeps its checkpoints: then the error names --resume first.
    mkdirSync(join(out, 'checkpoints'));
    const interrupted = await runCli(['run', writeJob(tmp.dir, 'b.json', job(2)), '--out', out, '--no-progress', '--insecure']);
    expect(interrupted.code).toBe(2);
    expect(interrupted.stderr).toContain(`dtrain run --resume ${out} continues it`);

    const replaced = await runCli(['run', writeJob(tmp.dir, 'c.json', job(2)), '--out', out, '--no-progress', '--insecure', '--overwrite']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'job.json'), 'utf8')).seed).toBe(2);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).not.toBe(summary);
  });

  it('a file in the way, or a folder of other things, is a clean error (exit 2), with or without --overwrite', async () => {
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const onFile = await runCli(['run', writeJob(tmp.dir, 'd.json', job(1)), '--out', file, '--no-progress', '--insecure']);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toMatch(/is a file: give --out another path/);
    expect(onFile.stderr).not.toMatch(/EEXIST|ENOTDIR|at .*\.js/);

    const mine = join(tmp.dir, 'my-things');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep me');
    const onMine = await runCli(['run', writeJob(tmp.dir, 'e.json', job(1)), '--out', mine, '--no-progress', '--insecure', '--overwrite']);
    expect(onMine.code).toBe(2);
    expect(onMine.stderr).toMatch(/not empty and holds no earlier run/);
    expect(existsSync(join(mine, 'notes.txt'))).toBe(true);
  });
});
