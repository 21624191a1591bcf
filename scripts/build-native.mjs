#!/usr/bin/env node
/**
 * Builds native/host-memory.c into build/host-memory.node: the shared memory
 * and futexes of the same-host all-reduce (src/worker/host-memory.ts).
 *
 * One C file against Node-API needs no build system: the compiler is called
 * directly. node-gyp would fetch Node's headers from nodejs.org, which
 * machines that reach only the npm registry cannot; the headers that come
 * with Node (<prefix>/include/node) serve.
 *
 * The addon is optional. Without a C compiler this prints why and exits 0:
 * workers on one machine then sum over TCP. `--required` (CI) fails instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'host-memory.c');
const out = join(root, 'build', 'host-memory.node');
const required = process.argv.includes('--required');

function fail(why) {
  const msg = `dtrain: the shared-memory all-reduce was not built (${why}); workers on one machine will sum over TCP`;
  if (required) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}

if (process.platform !== 'linux') fail(`it needs Linux futexes, this is ${process.platform}`);
const includes = [process.env.DTRAIN_NODE_INCLUDE, resolve(process.execPath, '../../include/node'), '/usr/include/node', '/usr/local/include/node'].filter(Boolean);
const include = includes.find((d) => existsSync(join(d, 'node_api.h')));
if (!include) fail(`no node_api.h in ${includes.join(', ')}; set DTRAIN_NODE_INCLUDE`);
const cc = process.env.CC || 'cc';
mkdirSync(dirname(out), { recursive: true });
try {
  execFileSync(cc, ['-O3', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', `-I${include}`, source, '-o', out], { stdio: ['ignore', 'inherit', 'pipe'] });
} catch (err) {
  fail(`${cc}: ${String(err.stderr ?? err.message).trim().split('\n').slice(0, 3).join(' ')}`);
}
