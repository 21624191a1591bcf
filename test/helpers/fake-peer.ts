/**
 * Pieces for testing the coordinator without worker processes: deadlines,
 * a logger whose lines can be read back, and a fake member that speaks the
 * wire protocol over any Channel (in-memory or a ZeroMQ DEALER).
 */
import pino, { type Logger } from 'pino';
import { encode, type TypedArray } from '../../src/wire/codec.js';
import { parseMessage, type Message, type MessageType } from '../../src/wire/messages.js';
import { ClosedError, type Channel } from '../../src/wire/transport.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `p`, or a rejection naming `what` once `ms` have passed. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` until it holds, failing after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A real pino logger at level info whose JSON lines land in `lines`. */
export function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

/** What a fake member does with a ping: pong, any other message (still a sign of life), or nothing. */
export type PingAnswer = 'pong' | 'stepDone' | 'silent';

export interface FakePeerOptions {
  onPing?: PingAnswer;
  /** Sees every message as it arrives (after pings are answered). */
  onMessage?: (m: Message) => void;
}

/** A member's end of the control link: records what the coordinator sends, answers pings. */
export class FakePeer {
  readonly inbox: Message[] = [];
  pings = 0;
  private readonly loop: Promise<void>;

  constructor(
    readonly channel: Channel,
    private readonly o: FakePeerOptions = {},
  ) {
    this.loop = this.run();
  }

  send(header: { type: MessageType } & Record<string, unknown>, tensors: TypedArray[] = []): Promise<void> {
    return this.channel.send(encode(header, tensors));
  }

  join(role: 'worker' | 'ps', pid: number, host = 'fake-host'): Promise<void> {
    return this.send({ type: 'join', role, host, pid, endpoint: `tcp://10.0.0.9:${pid}` });
  }

  /** Messages of `type` received so far. */
  received<T extends MessageType>(type: T): Message<T>[] {
    return this.inbox.filter((m): m is Message<T> => m.header.type === type);
  }

  /** Waits for the first message of `type`. */
  async next<T extends MessageType>(type: T, ms = 5000): Promise<Message<T>> {
    await until(() => this.received(type).length > 0, `a ${type} message`, ms);
    return this.received(type)[0];
  }

  /** Closes the link; resolves once everything already delivered is in `inbox`. */
  async close(): Promise<void> {
    this.channel.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    for (;;) {
      let frames: Uint8Array[];
      try {
        frames = await this.channel.receive();
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      const m = parseMessage(frames);
      this.inbox.push(m);
      if (m.header.type === 'ping') {
        this.pings++;
        const answer = this.o.onPing ?? 'pong';
        if (answer === 'pong') await this.send({ type: 'pong', t: m.header.t }).catch(() => undefined);
        if (answer === 'stepDone') await this.send({ type: 'stepDone', step: 0, lossSum: 0, count: 0, computeMs: 0, commMs: 0, counts: {} }).catch(() => undefined);
      }
      this.o.onMessage?.(m);
    }
  }
}
