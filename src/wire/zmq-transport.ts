/** ZeroMQ transports: ROUTER hub, DEALER channel, and a PUSH/PULL ring link. */
import * as zmq from 'zeromq';
import { ClosedError, Serial, type Channel, type Frames, type Hub } from './transport.js';
import type { ClusterKey } from './cluster-key.js';
import { acquireZap, ZAP_DOMAIN } from './zap.js';
import { bindRetrying } from './bind-retry.js';

const LINGER_MS = 0;
/**
 * Receive queues are bounded (in messages: ZeroMQ counts no bytes): a peer
 * that sends faster than this process reads is held back by TCP rather than
 * filling memory. Bounded ring queues stay safe because a ring member never
 * waits on its sends before reading. With the frame limits, a connection's
 * queue holds at most RING_RCV_HWM × RING_MAX_FRAME on a ring socket.
 */
const RCV_HWM = 1000;
const RING_RCV_HWM = 16;

/**
 * CURVE: a server socket (bound) proves the cluster key and admits only its
 * holders (zap.ts); a client socket (connecting) proves it too. No key: plain
 * TCP (loopback, or --insecure).
 */
function serverOptions(key: ClusterKey | undefined) {
  return key ? { curveServer: true, curvePublicKey: key.publicKey, curveSecretKey: key.secretKey, zapDomain: ZAP_DOMAIN } : {};
}
function clientOptions(key: ClusterKey | undefined) {
  return key ? { curveServerKey: key.publicKey, curvePublicKey: key.publicKey, curveSecretKey: key.secretKey } : {};
}

/**
 * Binds a server socket, after the ZAP handler is up when keyed (a handshake
 * before it would be admitted unchecked), retrying for `retryMs` while the
 * address is in use. Returns the handler's release; on failure the socket
 * is closed.
 */
async function bindServer(sock: zmq.Socket, endpoint: string, retryMs: number, key: ClusterKey | undefined): Promise<() => void> {
  const release = key ? await acquireZap(key) : () => undefined;
  try {
    await bindRetrying(sock, endpoint, retryMs);
    return release;
  } catch (err) {
    release();
    sock.close();
    throw err;
  }
}

function isClosed(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'EBADF' || code === 'ETERM' || code === 'ENOTSOCK' || code === 'EAGAIN';
}

async function receiveOrClosed<T>(fn: () => Promise<T>, closed: () => boolean): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (closed() || isClosed(err)) throw new ClosedError();
    throw err;
  }
}

/**
 * `retryMs`: an endpoint just released by this process (a session after
 * another) may take a moment to be free again. `maxFrame`: the largest frame
 * a peer may send (-1: no limit); a larger one disconnects it, unread.
 * ZeroMQ fixes it when the socket binds.
 */
export async function bindRouter(endpoint: string, retryMs = 0, maxFrame = -1, key?: ClusterKey): Promise<Hub> {
  const sock = new zmq.Router({ linger: LINGER_MS, mandatory: false, receiveHighWaterMark: RCV_HWM, sendHighWaterMark: 0, maxMessageSize: maxFrame, ...serverOptions(key) });
  const release = await bindServer(sock, endpoint, retryMs, key);
  const sends = new Serial();
  const recvs = new Serial();
  return {
    endpoint: sock.lastEndpoint ?? endpoint,
    send: (peer, frames) => sends.run(() => sock.send([Buffer.from(peer), ...frames])),
    receive: () =>
      recvs.run(() =>
        receiveOrClosed(async () => {
          const [id, ...frames] = await sock.receive();
          return { peer: id.toString(), frames };
        }, () => sock.closed),
      ),
    close: () => {
      try {
        sock.close();
      } finally {
        release();
      }
    },
  };
}

export function connectDealer(endpoint: string, identity: string, key?: ClusterKey): Channel {
  const sock = new zmq.Dealer({ linger: LINGER_MS, routingId: identity, receiveHighWaterMark: RCV_HWM, sendHighWaterMark: 0, ...clientOptions(key) });
  sock.connect(endpoint);
  return socketChannel(sock, sock);
}

/** Room for a frame's header beside its data. */
export const FRAME_SLACK = 64 * 1024;
/** The largest ring frame: a chunk of at most cluster.chunkBytes (16 MiB at most). */
export const RING_MAX_FRAME = 16 * 1024 * 1024 + FRAME_SLACK;

export interface RingPull {
  endpoint: string;
  pull: zmq.Pull;
  close(): void;
}

/** The receiving end of a ring link, bound first so that its endpoint can be advertised. `key`: the ring is encrypted (CURVE), the neighbour must hold the cluster key. */
export async function bindPull(endpoint: string, key?: ClusterKey, retryMs = 0): Promise<RingPull> {
  // A larger frame is nobody's ring traffic: ZeroMQ drops the sender before reading it (memory stays bounded).
  const pull = new zmq.Pull({ linger: LINGER_MS, receiveHighWaterMark: RING_RCV_HWM, maxMessageSize: RING_MAX_FRAME, ...serverOptions(key) });
  const release = await bindServer(pull, endpoint, retryMs, key);
  return {
    endpoint: pull.lastEndpoint ?? endpoint,
    pull,
    close: () => {
      try {
        if (!pull.closed) pull.close();
      } finally {
        release();
      }
    },
  };
}

/** A ring link: sends go to the right neighbour, receives come from the left. */
/** Unreachable: called once if no ZeroMQ handshake with the right neighbour happened within `ms`. */
export interface ReachCheck {
  ms: number;
  unreachable: () => void;
}

export function ringLink(ring: RingPull, rightEndpoint: string, reach?: ReachCheck, key?: ClusterKey): Channel {
  const push = new zmq.Push({ linger: LINGER_MS, sendHighWaterMark: 0, ...clientOptions(key) });
  // ZeroMQ retries a connection for ever without a word: an address the neighbour advertised that this host
  // cannot reach would leave the ring (and the job) waiting with healthy heartbeats.
  let timer: NodeJS.Timeout | undefined;
  if (reach) {
    timer = setTimeout(reach.unreachable, reach.ms);
    push.events.on('handshake', () => clearTimeout(timer));
  }
  push.connect(rightEndpoint);
  return socketChannel(push, ring.pull, () => {
    clearTimeout(timer);
    ring.close();
  });
}

function socketChannel(out: zmq.Writable & zmq.Socket, inp: zmq.Readable & zmq.Socket, extraClose?: () => void): Channel {
  const sends = new Serial();
  const recvs = new Serial();
  return {
    send: (frames: Frames) => sends.run(() => out.send(frames as Buffer[])),
    receive: () => recvs.run(() => receiveOrClosed(() => inp.receive(), () => inp.closed)),
    close: () => {
      if (!out.closed) out.close();
      if (!inp.closed) inp.close();
      extraClose?.();
    },
  };
}
