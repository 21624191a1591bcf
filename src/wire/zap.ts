/**
 * ZeroMQ's authentication hook (ZAP, RFC 27): every CURVE server socket of
 * a process asks it, over inproc://zeromq.zap.01, whether to admit a peer
 * that completed the handshake. Admitted: the cluster key's holders (the
 * client proved its secret key in the handshake). Everyone else is refused
 * before a single message of theirs is read.
 *
 * One handler per process: all threads share one ZeroMQ context (measured:
 * a second bind of the ZAP endpoint from a worker thread fails EADDRINUSE).
 * Sockets acquire it and release it; the last release closes it.
 */
import * as zmq from 'zeromq';
import type { ClusterKey } from './cluster-key.js';
import { z85Decode } from './cluster-key.js';
import { DropLog, type DropEmitter } from '../util/drop-log.js';
import { bindRetrying } from './bind-retry.js';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const REBIND_MS = 5000;
/** The ZAP domain every dtrain server socket names. */
export const ZAP_DOMAIN = 'dtrain';

interface Handler {
  key: string;
  refs: number;
  socket: zmq.Router;
  refusals: DropLog;
  ready: Promise<void>;
}

let handler: Handler | undefined;
let emit: DropEmitter = () => undefined;

/** Where refused connections are logged (at a limited rate); by default they are only counted. */
export function onRefused(e: DropEmitter): void {
  emit = e;
}

/** Starts (or shares) the handler admitting `key`'s holders; the returned function releases it. */
export async function acquireZap(key: ClusterKey): Promise<() => void> {
  if (handler && handler.key !== key.publicKey) throw new Error('one process serves one cluster key');
  if (!handler) {
    const socket = new zmq.Router({ linger: 0 });
    const refusals = new DropLog((f, m) => emit(f, m), undefined, 'refused a connection');
    // Receiving waits for the bind (zeromq.js refuses a receive while a bind is in progress).
    // The handler of a session that just ended may still hold the endpoint for a moment (a socket closes asynchronously).
    const ready = bindRetrying(socket, ZAP_ENDPOINT, REBIND_MS);
    const h: Handler = { key: key.publicKey, refs: 0, socket, refusals, ready };
    handler = h;
    ready.then(() => serve(h, z85Decode(key.publicKey)!)).catch(() => undefined);
  }
  const h = handler;
  h.refs++;
  try {
    await h.ready;
  } catch (err) {
    if (handler === h) handler = undefined;
    h.socket.close();
    throw err;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--h.refs > 0) return;
    if (handler === h) handler = undefined;
    h.refusals.close();
    h.socket.close();
  };
}

async function serve(h: Handler, admitted: Buffer): Promise<void> {
  for (;;) {
    const frames = await h.socket.receive();
    // routing id, empty, version, request id, domain, address, identity, mechanism, credentials…
    const [id, , version, requestId, , address, , mechanism, credential] = frames;
    const ok = version?.toString() === '1.0' && mechanism?.toString() === 'CURVE' && credential !== undefined && admitted.equals(credential);
    if (!ok) h.refusals.drop(`${address?.toString() ?? 'unknown address'}: not this cluster's key`, { mechanism: mechanism?.toString() });
    await h.socket.send([id, Buffer.alloc(0), Buffer.from('1.0'), requestId ?? Buffer.alloc(0), Buffer.from(ok ? '200' : '400'), Buffer.from(ok ? 'OK' : 'not a member of this cluster'), Buffer.alloc(0), Buffer.alloc(0)]);
  }
}
