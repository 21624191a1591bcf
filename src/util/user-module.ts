/** Importing a user's ES module (a model or a data loader) by path, with errors that say what is wrong. */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { JobSpecError } from './errors.js';

/** The default export of the module at `path` (absolute), which must be a function; `key` names the job key in errors. */
export function importDefaultFunction(path: string, key: string): Promise<(...args: never[]) => unknown> {
  return importFunction(path, 'default', key);
}

/** The export `name` of the module at `path` (absolute), or undefined when it has none; `key` names the job key in errors. */
export async function importExport(path: string, name: string, key: string): Promise<unknown> {
  if (!existsSync(path)) throw new JobSpecError(path, [{ path: key, message: `no such module: ${path}` }]);
  try {
    return ((await import(pathToFileURL(path).href)) as Record<string, unknown>)[name];
  } catch (err) {
    throw new JobSpecError(path, [{ path: key, message: `the module failed to load: ${(err as Error).message}` }], { cause: err });
  }
}

/** The export `name` of the module at `path` (absolute), which must be a function; `key` names the job key in errors. */
export async function importFunction(path: string, name: string, key: string): Promise<(...args: never[]) => unknown> {
  const fail = (message: string): never => {
    throw new JobSpecError(path, [{ path: key, message }]);
  };
  const fn = await importExport(path, name, key);
  const what = name === 'default' ? 'default export' : `export ${JSON.stringify(name)}`;
  if (fn === undefined) fail(name === 'default' ? 'the module has no default export (export default function (args) { … })' : `the module has no ${what} (export function ${name}(args) { … })`);
  if (typeof fn !== 'function') fail(`the module's ${what} is a ${typeof fn}, not a function`);
  return fn as (...args: never[]) => unknown;
}
