/**
 * Who is in the job: workers join with their ring endpoint and are given
 * ranks in join order. Heartbeats: the coordinator pings several times per
 * timeout (at most every second); any message counts as a sign of life; a worker silent for the timeout is lost,
 * which fails the job (recovery is a later feature). The worker's comm
 * thread answers pings even while its compute thread is inside a long tfjs
 * call, so a slow step is not a silent worker.
 */
import { WorkerLostError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Message } from '../shared/protocol/messages.js';
import type { ControlPlane } from './control.js';

export interface WorkerInfo {
  peer: string;
  rank: number;
  host: string;
  pid: number;
  ringEndpoint: string;
  lastSeen: number;
}

export function label(w: Pick<WorkerInfo, 'rank' | 'host' | 'pid'>): string {
  return `#${w.rank} (pid ${w.pid} on ${w.host})`;
}

/** Pings go out several times per timeout, so one late pong never loses a worker. */
const PINGS_PER_TIMEOUT = 4;
const MAX_PING_MS = 1000;

export class Membership {
  readonly workers: WorkerInfo[] = [];
  private readonly byPeer = new Map<string, WorkerInfo>();
  private full: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Called as each worker joins (progress for a person waiting on a cluster). */
  onJoin: (w: WorkerInfo, joined: number, expected: number) => void = () => undefined;

  constructor(
    private readonly control: ControlPlane,
    private readonly expected: number,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    control.describe = (peer) => {
      const w = this.byPeer.get(peer);
      return w ? label(w) : peer;
    };
    control.onMessage = (peer, m) => this.observe(peer, m);
  }

  /** Resolves once `expected` workers have joined. */
  waitForAll(): Promise<WorkerInfo[]> {
    if (this.workers.length >= this.expected) return Promise.resolve(this.workers);
    return new Promise((resolve) => (this.full = () => resolve(this.workers)));
  }

  byPid(pid: number): WorkerInfo | undefined {
    return this.workers.find((w) => w.pid === pid);
  }

  startHeartbeats(): void {
    const every = Math.min(MAX_PING_MS, this.timeoutMs / PINGS_PER_TIMEOUT);
    let lastTick = Date.now();
    for (const w of this.workers) w.lastSeen = Math.max(w.lastSeen, lastTick);
    this.timer = setInterval(() => {
      const now = Date.now();
      // A late tick means this process was blocked and sent no pings: that
      // silence is ours, not the workers'.
      if (now - lastTick > 2 * every) for (const w of this.workers) w.lastSeen = Math.max(w.lastSeen, now - every);
      lastTick = now;
      for (const w of this.workers) {
        if (now - w.lastSeen > this.timeoutMs) {
          this.control.fail(new WorkerLostError(label(w), `no heartbeat for ${this.timeoutMs} ms`));
          return;
        }
        this.control.send(w.peer, { type: 'ping', t: now }).catch(() => undefined);
      }
    }, every);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Returns true when the message is consumed here. */
  private observe(peer: string, m: Message): boolean {
    const known = this.byPeer.get(peer);
    if (known) known.lastSeen = Date.now();
    const h = m.header;
    if (h.type === 'pong') return true;
    if (h.type !== 'join') return false;
    if (known) return true; // a repeated join from the same socket
    if (this.workers.length >= this.expected) {
      this.log.warn({ peer, host: h.host, workerPid: h.pid }, 'turned away a worker: the job has all the workers it needs');
      this.control.send(peer, { type: 'stop', reason: 'the job already has all its workers' }).catch(() => undefined);
      return true;
    }
    const w: WorkerInfo = { peer, rank: this.workers.length, host: h.host, pid: h.pid, ringEndpoint: h.ringEndpoint, lastSeen: Date.now() };
    this.workers.push(w);
    this.byPeer.set(peer, w);
    this.log.info({ rank: w.rank, host: w.host, workerPid: w.pid, ring: w.ringEndpoint }, 'worker joined');
    this.onJoin(w, this.workers.length, this.expected);
    if (this.workers.length === this.expected) this.full?.();
    return true;
  }
}
