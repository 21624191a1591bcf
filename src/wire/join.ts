import type { Logger } from '../util/log.js';

/** A worker's or ps shard's join, sent now and again every JOIN_EVERY_MS until the caller clears the timer (the job started or stopped). */
export const JOIN_EVERY_MS = 1000;

export function repeatJoin(send: () => Promise<void>): NodeJS.Timeout {
  let pending = false;
  const once = () => {
    if (pending) return; // a send still waits for the coordinator: do not pile joins up behind it
    pending = true;
    send()
      .catch(() => undefined)
      .finally(() => (pending = false));
  };
  once();
  return setInterval(once, JOIN_EVERY_MS);
}

/** Why a member's session ended when the member should join again: told to (a member was lost), or its coordinator fell silent. */
export type Rejoin = { why: 'rejoin' | 'coordinatorLost'; message: string };

/**
 * A worker's or shard's life: sessions, each joining the coordinator anew,
 * until one ends with a final stop (0) or a failure (1). A session that
 * ends to be joined again is followed by the next, unless
 * `coordinatorTimeoutMs` is 0 (under `dtrain run`: the coordinator is the
 * parent), which makes it a failure.
 */
export async function runSessions(what: string, log: Logger, coordinatorTimeoutMs: number, session: (n: number) => Promise<number | Rejoin>): Promise<number> {
  for (let n = 0; ; n++) {
    const end = await session(n);
    if (typeof end === 'number') return end;
    if (coordinatorTimeoutMs === 0) {
      log.error({ why: end.message }, `${what} failed`);
      return 1;
    }
    log.warn({ why: end.message, waitS: coordinatorTimeoutMs / 1000 }, end.why === 'rejoin' ? 'the job goes on in a new session: joining again' : 'lost the coordinator: joining again, waiting for it to come back');
  }
}
