/**
 * Transports move frames and know nothing of message contents. Each side of
 * the system uses one of two shapes:
 *  - Channel: an ordered point-to-point link (worker ↔ coordinator, ring
 *    neighbour → ring neighbour).
 *  - Hub: many peers, addressed by id (the coordinator's side).
 * `receive` rejects with ClosedError once the transport is closed.
 */
import { DtrainError } from '../util/errors.js';

export type Frames = Uint8Array[];

/** The transport was closed: a receive or send on it ends. */
export class ClosedError extends DtrainError {
  override readonly code = 'CLOSED';
  constructor() {
    super('transport closed');
  }
}

export interface Channel {
  send(frames: Frames): Promise<void>;
  receive(): Promise<Frames>;
  close(): void;
}

export interface Hub {
  /** The address peers connect to. */
  readonly endpoint: string;
  send(peer: string, frames: Frames): Promise<void>;
  receive(): Promise<{ peer: string; frames: Frames }>;
  close(): void;
}

/**
 * Serializes calls: zeromq.js allows one send (and one receive) in flight per
 * socket at a time, and callers from several async paths must not interleave.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
