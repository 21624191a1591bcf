/**
 * Shared memory between the worker processes of one machine, through the
 * small native addon in native/host-memory.c (built by scripts/build-native.mjs
 * into build/host-memory.node). Node itself shares memory only between the
 * threads of one process, and its Atomics.wait/notify wake only that
 * process's waiters: the addon maps a POSIX shared-memory object and waits
 * and wakes on it with futexes. It is optional: where it was not built (no C
 * compiler at install), same-host workers sum over TCP as across hosts.
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { errorMessage } from '../util/errors.js';

export interface HostMemory {
  /** Maps the shared-memory object `name` ('/…'), creating it zero-filled with `bytes` if absent. */
  open(name: string, bytes: number): ArrayBuffer;
  /** Removes the name; mappings stay valid. False when it was already gone. */
  unlink(name: string): boolean;
  /** Sleeps while words[index] === value, at most `ms`: 0 woken, 1 the word was not `value`, 2 timed out. */
  wait(words: Int32Array, index: number, value: number, ms: number): 0 | 1 | 2;
  /** Wakes up to `count` waiters on words[index], in any process; returns how many. */
  wake(words: Int32Array, index: number, count: number): number;
  /** dst += src element-wise in float32 (the same bits as a JS loop over Float32Arrays), vectorized. */
  add(dst: Float32Array, src: Float32Array): void;
}

let loaded: { memory?: HostMemory; why?: string } | undefined;

/** The addon, or undefined with the reason (hostMemoryMissing) when it is not built or does not load here. */
export function hostMemory(): HostMemory | undefined {
  if (!loaded) {
    const file = join(packageRoot(), 'build', 'host-memory.node');
    try {
      loaded = { memory: createRequire(import.meta.url)(file) as HostMemory };
    } catch (err) {
      loaded = { why: `${file}: ${errorMessage(err).split('\n')[0]}` };
    }
  }
  return loaded.memory;
}

export function hostMemoryMissing(): string | undefined {
  hostMemory();
  return loaded?.why;
}

/**
 * Which processes can share memory with this one: the same kernel boot,
 * the same /dev/shm mount and the same network namespace (workers in other
 * namespaces are other hosts to the job, reached over their own links).
 * Undefined where shared memory is not available.
 */
export function machineId(): string | undefined {
  if (!hostMemory()) return undefined;
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}/${statSync('/dev/shm').dev}/${readlinkSync('/proc/self/ns/net')}`;
  } catch {
    return undefined;
  }
}
