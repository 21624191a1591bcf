/** The package's own folder (where package.json is), from the compiled code in dist/src/… or the sources in src/…. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'web'))) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`dtrain's package folder (package.json and web/) is not above ${fileURLToPath(import.meta.url)}`);
  }
}
