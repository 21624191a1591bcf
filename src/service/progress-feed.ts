/**
 * A running job's progress on dtrain.jobs.<id>.progress: notes as they come,
 * steps and counts at most every FEED_EVERY_MS (and always the last one), so
 * a fast job does not flood the subscribers. The last event is kept for status.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { ProgressEvent } from '../coordinator/progress.js';
import type { JobProgress } from './protocol.js';
import { progressSubject } from './subjects.js';

export const FEED_EVERY_MS = 250;

export class ProgressFeed {
  /** The last step or count. */
  last: JobProgress | undefined;
  /** The last note (what the job waits for: "waiting for 2 worker(s)", "worker #0 … joined (1/2)", a recovery). */
  lastNote: JobProgress | undefined;
  private sentAt = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly id: string,
  ) {}

  push(e: ProgressEvent): void {
    const now = Date.now();
    const event: JobProgress = { ...e, id: this.id, at: new Date(now).toISOString() };
    if (e.kind !== 'note') this.last = event;
    else this.lastNote = event;
    const final = (e.kind === 'step' && e.step >= e.total) || (e.kind === 'count' && e.done >= e.total);
    if (e.kind !== 'note' && !final && now - this.sentAt < FEED_EVERY_MS) return;
    if (e.kind !== 'note') this.sentAt = now;
    this.nc.publish(progressSubject(this.id), JSON.stringify(event));
  }
}
