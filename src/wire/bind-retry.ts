/** Binding an address that may still be held for a moment by a socket this process just closed (ZeroMQ closes asynchronously). */
import type * as zmq from 'zeromq';

/** Binds `sock` to `endpoint`, retrying for `retryMs` while the address is in use; other errors, or one past the deadline, are thrown. */
export async function bindRetrying(sock: zmq.Socket, endpoint: string, retryMs: number): Promise<void> {
  const until = Date.now() + retryMs;
  for (;;) {
    try {
      return await sock.bind(endpoint);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || Date.now() >= until) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
