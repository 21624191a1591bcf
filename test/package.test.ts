/**
 * The package as a user gets it: `npm pack` of this tree (already built by
 * `npm test`), installed globally into a temporary prefix, then `dtrain
 * --version` and `dtrain run` of a synthetic job from a folder that is not
 * the repository. Dependencies come from npm's cache where `npm ci` left
 * them (--prefer-offline), else from the registry.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hostMemory } from '../src/worker/host-memory.js';
import { tempDir } from './helpers/cli.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = tempDir('dtrain-package-');
afterAll(() => tmp.cleanup());

describe('the npm package', () => {
  it('packs with its built code, installs globally, and runs a job from another folder', { timeout: 300_000 }, async () => {
    const dir = tmp.dir;
    // The tree is built already (npm test builds first): skip prepack's build so that no test sees dist/ rewritten.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info.files.map((f) => f.path);
    expect(files).toContain('dist/src/cli.js');
    expect(files).toContain('bin/dtrain.js');
    expect(files).toContain('dist/src/client/index.d.ts');
    // Sources, tests and the benchmarks stay out.
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('dist/bench/'))).toEqual([]);

    const prefix = join(dir, 'prefix');
    const installed = await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)], { cwd: dir, maxBuffer: 16 << 20 });
    expect(installed.stderr).not.toMatch(/EBADENGINE/);
    const dtrain = join(prefix, 'bin', 'dtrain');
    expect(existsSync(dtrain)).toBe(true);

    const version = await run(dtrain, ['--version'], { cwd: dir });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

    const elsewhere = join(dir, 'elsewhere');
    await run('mkdir', ['-p', elsewhere]);
    writeFileSync(
      join(elsewhere, 'job.yaml'),
      ['name: packaged', 'data: { source: synthetic, kind: blobs, samples: 400, features: 4, classes: 3 }', 'model: { zoo: mlp, hidden: [8] }', 'train: { epochs: 1, batchSize: 20 }', 'cluster: { workers: 2, backend: cpu }', ''].join('\n'),
    );
    const r = await run(dtrain, ['run', 'job.yaml', '--no-progress'], { cwd: elsewhere });
    expect(r.stdout + r.stderr).toMatch(/packaged: succeeded/);
    expect(readdirSync(join(elsewhere, 'runs', 'packaged'))).toContain('summary.json');
    // Where this machine builds the shared-memory addon, the install built it too, and the two workers summed through it.
    if (hostMemory()) {
      expect(existsSync(join(prefix, 'lib', 'node_modules', 'dtrain', 'build', 'host-memory.node'))).toBe(true);
      expect(readFileSync(join(elsewhere, 'runs', 'packaged', 'log.jsonl'), 'utf8')).toMatch(/sums go through shared memory/);
    }
    // webgpu came with the package (its optional dependency, Dawn for Node) and finds an adapter.
    const backends = JSON.parse((await run(dtrain, ['backends', '--json'], { cwd: elsewhere })).stdout) as { backends: { backend: string; available: boolean }[] };
    expect(backends.backends.find((b) => b.backend === 'webgpu')).toMatchObject({ available: true });
  });
});
