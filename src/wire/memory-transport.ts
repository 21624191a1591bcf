/**
 * In-memory transports for tests: the same contracts as ZeroMQ's, without
 * processes. Frames are copied on send, as a real transport would.
 */
import { ClosedError, type Channel, type Frames, type Hub } from './transport.js';

class Queue<T> {
  private items: T[] = [];
  private waiters: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  closed = false;
  push(v: T): void {
    if (this.closed) return;
    const w = this.waiters.shift();
    if (w) w.resolve(v);
    else this.items.push(v);
  }
  pop(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.closed) return Promise.reject(new ClosedError());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new ClosedError());
  }
}

const copy = (frames: Frames): Frames => frames.map((f) => new Uint8Array(f));

/** Two channels, each delivering to the other. */
export function memoryPair(): [Channel, Channel] {
  const qa = new Queue<Frames>();
  const qb = new Queue<Frames>();
  const side = (inbox: Queue<Frames>, outbox: Queue<Frames>): Channel => ({
    send: async (frames) => {
      if (inbox.closed) throw new ClosedError();
      outbox.push(copy(frames));
    },
    receive: () => inbox.pop(),
    close: () => inbox.close(),
  });
  return [side(qa, qb), side(qb, qa)];
}

/** N ring links: link i sends to i+1 and receives from i-1. */
export function memoryRing(n: number): Channel[] {
  const inboxes = Array.from({ length: n }, () => new Queue<Frames>());
  return inboxes.map((inbox, i) => ({
    send: async (frames: Frames) => {
      if (inbox.closed) throw new ClosedError();
      inboxes[(i + 1) % n].push(copy(frames));
    },
    receive: () => inbox.pop(),
    close: () => inbox.close(),
  }));
}

/** A hub and a factory of channels connected to it. */
export function memoryHub(): { hub: Hub; connect(id: string): Channel } {
  const inbox = new Queue<{ peer: string; frames: Frames }>();
  const peers = new Map<string, Queue<Frames>>();
  const hub: Hub = {
    endpoint: 'memory://hub',
    send: async (peer, frames) => {
      const q = peers.get(peer);
      if (q) q.push(copy(frames)); // like ROUTER: a message to an unknown peer is dropped
    },
    receive: () => inbox.pop(),
    close: () => inbox.close(),
  };
  const connect = (id: string): Channel => {
    const q = new Queue<Frames>();
    peers.set(id, q);
    return {
      send: async (frames) => inbox.push({ peer: id, frames: copy(frames) }),
      receive: () => q.pop(),
      close: () => q.close(),
    };
  };
  return { hub, connect };
}
