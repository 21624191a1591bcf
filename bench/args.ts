/** A benchmark's command-line values: the one after `name` (`--steps 200`), or `fallback` where it is not given. */
export function flag(args: string[], name: string): string | undefined;
export function flag(args: string[], name: string, fallback: string): string;
export function flag(args: string[], name: string, fallback?: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}
