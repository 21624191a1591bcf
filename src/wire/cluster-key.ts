/**
 * The cluster key: one CURVE key pair every member of a cluster holds
 * (`dtrain keys generate FILE`). Its holders prove it in ZeroMQ's CURVE
 * handshake (zap.ts admits only its public key), so a process without the
 * file can neither join nor read the control traffic.
 *
 * The file is JSON: {"kind": "dtrain-cluster-key", "publicKey", "secretKey"},
 * both Z85 (ZeroMQ's text form of a 32-byte key), readable by its owner only.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import * as zmq from 'zeromq';
import { errorMessage, UsageError } from '../util/errors.js';

export interface ClusterKey {
  publicKey: string;
  secretKey: string;
}

const KIND = 'dtrain-cluster-key';

/** The environment variable naming a key file, as --key does. */
export const KEY_FILE_ENV = 'DTRAIN_KEY_FILE';
/** How `dtrain run` hands its fresh key to the processes it starts (the key itself, JSON; never on disk). */
export const KEY_ENV = 'DTRAIN_CLUSTER_KEY';

/** Refuses to run where this build of ZeroMQ has no CURVE (zmq.capability.curve). */
export function requireCurve(): void {
  if (!zmq.capability.curve) throw new UsageError('this build of ZeroMQ has no CURVE security: cluster keys cannot be used (reinstall the zeromq package, or run with --insecure on a trusted network)');
}

export function generateKey(): ClusterKey {
  requireCurve();
  return zmq.curveKeyPair();
}

/** Writes a new key to `path`, readable by its owner only; an existing file is never overwritten. */
export function writeKeyFile(path: string, key: ClusterKey = generateKey()): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(code === 'EEXIST' ? `${path} already exists: a key file is never overwritten (remove it first to replace the key)` : `cannot write ${path}: ${errorMessage(err)}`);
  }
  try {
    writeSync(fd, `${JSON.stringify({ kind: KIND, ...key }, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** The public key of a key file (to tell keys apart; it reveals nothing secret). */
export function publicKeyOf(path: string): string {
  return readKeyFile(path).publicKey;
}

/** Reads and checks a key file: owner-only permissions, both keys, and a public key that belongs to the secret one. */
export function readKeyFile(path: string): ClusterKey {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const mode = fstatSync(fd).mode & 0o777;
      if (mode & 0o077) throw new UsageError(`${path} can be read by others (mode ${mode.toString(8)}): a key file must be private, run chmod 600 ${path}`);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read the key file ${path}: ${errorMessage(err)}`);
  }
  return parseKey(text, path);
}

export function parseKey(text: string, where: string): ClusterKey {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`${where} is not a dtrain key file (make one with: dtrain keys generate FILE)`);
  }
  const o = v as Partial<ClusterKey> & { kind?: unknown };
  if (o?.kind !== KIND || typeof o.publicKey !== 'string' || typeof o.secretKey !== 'string') throw new UsageError(`${where} is not a dtrain key file (make one with: dtrain keys generate FILE)`);
  const secret = z85Decode(o.secretKey);
  const pub = z85Decode(o.publicKey);
  if (!secret || !pub || secret.length !== 32 || pub.length !== 32) throw new UsageError(`${where}: the keys must be 40 Z85 characters each`);
  if (!x25519Public(secret).equals(pub)) throw new UsageError(`${where}: its public key does not belong to its secret key`);
  return { publicKey: o.publicKey, secretKey: o.secretKey };
}

/** The key for this process: --key FILE, else $DTRAIN_KEY_FILE, else the key `dtrain run` handed down; undefined if none. */
export function keyFromFlags(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ClusterKey | undefined {
  const path = file ?? env[KEY_FILE_ENV];
  if (path) {
    requireCurve();
    return readKeyFile(path);
  }
  const inline = env[KEY_ENV];
  return inline ? parseKey(inline, `$${KEY_ENV}`) : undefined;
}

export function keyEnv(key: ClusterKey): Record<string, string> {
  return { [KEY_ENV]: JSON.stringify({ kind: KIND, ...key }) };
}

// X25519's public key from a raw secret key, through node:crypto's DER forms (RFC 8410 prefixes).
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
function x25519Public(secret: Buffer): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32);
}

/**
 * Z85 (ZeroMQ RFC 32) to bytes; undefined if `text` is not Z85. Written
 * here: ZeroMQ's own encoder is not exported by zeromq.js, and the npm
 * packages for it are unmaintained; the decoder is a few lines.
 */
const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const d = Z85.indexOf(text[i + j]);
      if (d < 0) return undefined;
      v = v * 85 + d;
    }
    if (v > 0xffffffff) return undefined;
    out.writeUInt32BE(v, (i / 5) * 4);
  }
  return out;
}
