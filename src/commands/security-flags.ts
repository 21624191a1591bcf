/**
 * Secure by default: a process that listens on (or talks to) anything but
 * loopback needs the cluster key, unless the operator says --insecure.
 */
import { keyFromFlags, type ClusterKey } from '../wire/cluster-key.js';
import { UsageError } from '../util/errors.js';
import { LOOPBACK } from './process-flags.js';

export interface SecurityFlags {
  /** --key FILE (or $DTRAIN_KEY_FILE, which commander fills in). */
  key?: string;
  insecure?: boolean;
}

/** How to fix a refusal: said by every command that refuses. */
export const MAKE_A_KEY =
  'make a key with "dtrain keys generate cluster.key", copy it to every host of the cluster (readable by its owner only) and give each coordinator, worker and ps --key cluster.key (or DTRAIN_KEY_FILE=cluster.key); or add --insecure on a network you trust';

/**
 * The cluster key of a `role` process whose sockets are on `hosts` (bound
 * or connected to). No key, and a host that is not loopback: refused
 * (exit 2) unless --insecure.
 */
export function clusterKeyFor(role: string, hosts: string[], flags: SecurityFlags): ClusterKey | undefined {
  const key = keyFromFlags(flags.key);
  if (key || flags.insecure) return key;
  const exposed = exposedHost(hosts);
  if (exposed !== undefined) throw new UsageError(`dtrain ${role} would use ${exposed} with no cluster key: anyone who reaches it could join the job, read its parameters and change the model. To fix: ${MAKE_A_KEY}`);
  return undefined;
}

/** The first of `hosts` (IPv6 ones with or without brackets) that is not loopback. */
export function exposedHost(hosts: string[]): string | undefined {
  return hosts.map((h) => h.replace(/^\[|\]$/g, '')).find((h) => !LOOPBACK.test(h));
}

/** The flags a --serve process passes on to its job processes. */
export function securityChildFlags(flags: SecurityFlags): string[] {
  return [...(flags.key ? ['--key', flags.key] : []), ...(flags.insecure ? ['--insecure'] : [])];
}

/** The host of tcp://HOST:PORT. */
export const hostOf = (endpoint: string) => /^tcp:\/\/([^:]+|\[[^\]]+\]):/.exec(endpoint)?.[1] ?? endpoint;
