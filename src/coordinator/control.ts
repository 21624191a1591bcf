/**
 * The coordinator's control plane: one receive loop on the ROUTER socket.
 * Every message is validated; a malformed one is dropped, counted and logged
 * with its peer and never throws out of the loop. Valid messages wait in a
 * per-peer, per-type queue for whoever `expect`s them. The first fatal event
 * (a worker lost or failed, a cancel) rejects every waiter, now and later.
 */
import { errorMessage, WorkerFailedError } from '../util/errors.js';
import { DropLog } from '../util/drop-log.js';
import type { Logger } from '../util/log.js';
import { encode, type TypedArray } from '../wire/codec.js';
import type { Header, Message, MessageType } from '../wire/messages.js';
import { hubMessages } from '../wire/receive.js';
import type { Hub } from '../wire/transport.js';

type Waiter = { resolve: (m: Message) => void; reject: (e: Error) => void };

export class ControlPlane {
  dropped = 0;
  private readonly queues = new Map<string, Message[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private failure: Error | undefined;
  private readonly failListeners = new Set<(e: Error) => void>();
  /** Called for every valid message, before it is queued (liveness, joins). */
  onMessage: (peer: string, m: Message) => boolean = () => false;
  /** Called for every message dropped as malformed or unexpected. */
  onDrop: () => void = () => undefined;
  /** Names a peer for messages and logs. */
  describe: (peer: string) => string = (peer) => peer;

  private readonly drops: DropLog;

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {
    this.drops = new DropLog((fields, msg) => this.log.warn(fields, msg));
  }

  get endpoint(): string {
    return this.hub.endpoint;
  }

  /** Runs the receive loop until the hub closes. */
  async run(): Promise<void> {
    const drop = (peer: string, reason: string) => {
      this.dropped++;
      this.drops.drop(reason, { peer: this.describe(peer) });
      this.onDrop();
    };
    try {
      for await (const { peer, message: m } of hubMessages(this.hub, drop)) {
        if (this.onMessage(peer, m)) continue;
        if (m.header.type === 'failed') this.fail(new WorkerFailedError(this.describe(peer), m.header.message));
        else this.deliver(peer, m);
      }
    } catch (err) {
      this.fail(new Error(`control socket failed: ${errorMessage(err)}`, { cause: err }));
    }
  }

  send(peer: string, header: Header, tensors: TypedArray[] = []): Promise<void> {
    return this.hub.send(peer, encode(header, tensors));
  }

  /** The next message of `type` from `peer`. */
  expect<T extends MessageType>(peer: string, type: T): Promise<Message<T>> {
    if (this.failure) return Promise.reject(this.failure);
    const key = `${peer}\u0000${type}`;
    const q = this.queues.get(key);
    if (q && q.length > 0) return Promise.resolve(q.shift() as Message<T>);
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ resolve: resolve as (m: Message) => void, reject });
      this.waiters.set(key, list);
    });
  }

  /** Ends the job: every pending and future `expect` rejects with `err`. The first failure wins. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const list of this.waiters.values()) for (const w of list) w.reject(err);
    this.waiters.clear();
    for (const l of this.failListeners) l(err);
    this.failListeners.clear();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Waits for `p`, but rejects as soon as the job fails. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.failListeners.add(reject);
      p.then(resolve, reject).finally(() => this.failListeners.delete(reject));
    });
  }

  close(): void {
    this.drops.close();
    this.hub.close();
  }

  private deliver(peer: string, m: Message): void {
    const key = `${peer}\u0000${m.header.type}`;
    const list = this.waiters.get(key);
    const w = list?.shift();
    if (w) w.resolve(m);
    else {
      const q = this.queues.get(key) ?? [];
      q.push(m);
      this.queues.set(key, q);
    }
  }
}
