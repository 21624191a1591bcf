/**
 * Who is in the job: workers join with their ring endpoint and ps shards
 * with their server endpoint; each role is numbered in join order. Heartbeats: the coordinator pings several times per
 * timeout (at most every second); any message counts as a sign of life; a worker silent for the timeout is lost,
 * which fails the job (recovery is a later feature). The worker's comm
 * thread answers pings even while its compute thread is inside a long tfjs
 * call, so a slow step is not a silent worker.
 */
import { WorkerLostError } from '../util/errors.js';
import { DROP_LOG_DEFAULTS, DropLog } from '../util/drop-log.js';
import type { Logger } from '../util/log.js';
import type { Message } from '../wire/messages.js';
import type { ControlPlane } from './control.js';

export type Role = 'worker' | 'ps';

export interface MemberInfo {
  peer: string;
  role: Role;
  /** A worker's rank, or a shard's index: join order within the role. */
  rank: number;
  host: string;
  pid: number;
  /** A worker's ring socket, or a shard's server socket. */
  endpoint: string;
  /** Which processes can share memory with it (a worker's join; absent where it cannot). */
  machine?: string;
  lastSeen: number;
}
export type WorkerInfo = MemberInfo;

export function label(m: Pick<MemberInfo, 'role' | 'rank' | 'host' | 'pid'>): string {
  return `${m.role === 'ps' ? 'ps shard' : 'worker'} #${m.rank} (pid ${m.pid} on ${m.host})`;
}

/**
 * What happens to a member that joins when the job has all it needs:
 * `turnAway` (dtrain run: stopped); `hold` (dtrain coordinator: it waits, and
 * joins a later session of the job if a member is lost; stopped when the job
 * ends); `keep` (service mode: it waits for a later job).
 */
export type SparePolicy = 'turnAway' | 'hold' | 'keep';

export interface Expected {
  workers: number;
  shards: number;
}

/** Pings go out several times per timeout, so one late pong never loses a worker. */
const PINGS_PER_TIMEOUT = 4;
const MAX_PING_MS = 1000;

export class Membership {
  readonly workers: MemberInfo[] = [];
  readonly shards: MemberInfo[] = [];
  private readonly byPeer = new Map<string, MemberInfo>();
  private full: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Spare members seen, waiting (SparePolicy), by peer. */
  readonly spares = new Map<string, Role>();
  /** Called as each member joins (progress for a person waiting on a cluster). */
  onJoin: (m: MemberInfo, joined: number, expected: number) => void = () => undefined;
  /** Called when a spare starts waiting (dtrain coordinator takes it in at a step boundary). */
  onSpare: (role: Role) => void = () => undefined;
  /** The member whose silence ended the job. */
  lost: MemberInfo | undefined;
  private readonly strangers: DropLog;

  constructor(
    private readonly control: ControlPlane,
    private readonly expected: Expected,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    /** A member beyond the job's needs: its joins repeat while it waits, until a session takes it. */
    private readonly sparePolicy: SparePolicy = 'turnAway',
  ) {
    control.describe = (peer) => {
      const w = this.byPeer.get(peer);
      return w ? label(w) : peer;
    };
    control.onMessage = (peer, m) => this.observe(peer, m);
    this.strangers = new DropLog((fields, msg) => this.log.info(fields, msg), DROP_LOG_DEFAULTS, 'ignored a message from a process that is not in this job');
  }

  /** Every member, workers first. */
  get members(): MemberInfo[] {
    return [...this.workers, ...this.shards];
  }

  /** Resolves once every expected worker and shard has joined. */
  waitForAll(): Promise<{ workers: MemberInfo[]; shards: MemberInfo[] }> {
    const all = { workers: this.workers, shards: this.shards };
    if (this.complete()) return Promise.resolve(all);
    return new Promise((resolve) => (this.full = () => resolve(all)));
  }

  /** How many spares of `role` wait. */
  sparesOf(role: Role): number {
    return [...this.spares.values()].filter((r) => r === role).length;
  }

  byPid(pid: number): MemberInfo | undefined {
    return this.members.find((w) => w.pid === pid);
  }

  private complete(): boolean {
    return this.workers.length >= this.expected.workers && this.shards.length >= this.expected.shards;
  }

  startHeartbeats(): void {
    const every = Math.min(MAX_PING_MS, this.timeoutMs / PINGS_PER_TIMEOUT);
    let lastTick = Date.now();
    const members = this.members;
    for (const w of members) w.lastSeen = Math.max(w.lastSeen, lastTick);
    this.timer = setInterval(() => {
      const now = Date.now();
      // A late tick means this process was blocked and sent no pings: that
      // silence is ours, not the workers'.
      if (now - lastTick > 2 * every) for (const w of members) w.lastSeen = Math.max(w.lastSeen, now - every);
      lastTick = now;
      for (const w of members) {
        if (now - w.lastSeen > this.timeoutMs) {
          this.lost = w;
          this.control.fail(new WorkerLostError(label(w), `no heartbeat for ${this.timeoutMs} ms`));
          return;
        }
        this.control.send(w.peer, { type: 'ping', t: now }).catch(() => undefined);
      }
    }, every);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.strangers.close();
  }

  /** Returns true when the message is consumed here. */
  private observe(peer: string, m: Message): boolean {
    const known = this.byPeer.get(peer);
    if (known) known.lastSeen = Date.now();
    const h = m.header;
    if (h.type === 'pong') return true;
    if (h.type !== 'join') {
      if (known) return false;
      // Not a member: a process still in an earlier job of a restarted coordinator (service mode) reporting its end,
      // or a stranger (rate-limited: a flood of them must not fill the disk).
      this.strangers.drop(`${h.type} from a process that is not in this job`, { peer, type: h.type });
      return true;
    }
    // Every join is answered, so a member waiting for the others (or for a later job) hears that its coordinator is there.
    this.control.send(peer, { type: 'ping', t: Date.now() }).catch(() => undefined);
    if (known) return true; // a repeated join from the same socket
    const list = h.role === 'ps' ? this.shards : this.workers;
    const want = h.role === 'ps' ? this.expected.shards : this.expected.workers;
    const what = h.role === 'ps' ? 'ps shard' : 'worker';
    if (list.length >= want) {
      if (this.sparePolicy === 'keep' || (this.sparePolicy === 'hold' && want > 0)) {
        const until = this.sparePolicy === 'keep' ? 'a later job' : 'a place in the job';
        if (!this.spares.has(peer)) {
          this.log.info({ peer, host: h.host, memberPid: h.pid }, `a spare ${what} waits for ${until}`);
          this.spares.set(peer, h.role);
          this.onSpare(h.role);
        }
        return true;
      }
      const why = want === 0 ? `the job does not use ${what}s` : `the job has all the ${what}s it needs`;
      this.log.warn({ peer, host: h.host, memberPid: h.pid }, `turned away a ${what}: ${why}`);
      this.control.send(peer, { type: 'stop', reason: why }).catch(() => undefined);
      return true;
    }
    const w: MemberInfo = { peer, role: h.role, rank: list.length, host: h.host, pid: h.pid, endpoint: h.endpoint, ...(h.machine ? { machine: h.machine } : {}), lastSeen: Date.now() };
    list.push(w);
    this.byPeer.set(peer, w);
    this.log.info({ role: w.role, rank: w.rank, host: w.host, memberPid: w.pid, endpoint: w.endpoint }, `${what} joined`);
    this.onJoin(w, list.length, want);
    if (this.complete()) this.full?.();
    return true;
  }
}
