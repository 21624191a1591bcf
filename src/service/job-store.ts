/**
 * The job records of service mode, in a NATS KV bucket (one key per job id),
 * so any coordinator or client sees the same states. Every change is a
 * compare-and-set on the entry's revision (two writers cannot both move a
 * job) followed by an event on dtrain.jobs.<id>.events.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { NotFoundError } from '../util/errors.js';
import { JobConflictError, JobExistsError, moved, type JobRecord, type JobState, type MoveDetails } from './job-states.js';
import { eventsSubject } from './subjects.js';

export const JOBS_BUCKET = 'dtrain-jobs';


export interface JobEvent {
  id: string;
  from: JobState | null;
  to: JobState;
  at: string;
  reason?: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class JobStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly now: () => Date,
  ) {}

  /** Opens the bucket, creating it (file storage, so records survive a server restart) if it does not exist. */
  static async open(nc: NatsConnection, now: () => Date = () => new Date()): Promise<JobStore> {
    const kv = await new Kvm(nc).create(JOBS_BUCKET, { history: 1, storage: StorageType.File });
    return new JobStore(nc, kv, now);
  }

  /**
   * The bucket as it is, to read; undefined if there is none yet (no job
   * was ever recorded). A client may not be allowed to create it
   * (deploy/nats/nats-server.conf).
   */
  static async openExisting(nc: NatsConnection): Promise<JobStore | undefined> {
    try {
      const kv = await new Kvm(nc).open(JOBS_BUCKET);
      await kv.status(); // open does not look: this does
      return new JobStore(nc, kv, () => new Date());
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      if (/stream not found/i.test(String((err as Error).message))) return undefined;
      throw err;
    }
  }

  /** Records a new job as queued; throws JobExistsError if the id exists. */
  async add(r: Omit<JobRecord, 'state' | 'history'>): Promise<JobRecord> {
    const at = this.now().toISOString();
    const record: JobRecord = { ...r, state: 'queued', history: [{ state: 'queued', at }] };
    try {
      await this.kv.create(r.id, enc.encode(JSON.stringify(record)));
    } catch (err) {
      if (err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)) {
        throw new JobExistsError(r.id, undefined, { cause: err });
      }
      throw err;
    }
    this.publish({ id: r.id, from: null, to: 'queued', at });
    return record;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const e = await this.kv.get(id);
    return e && e.operation === 'PUT' ? (JSON.parse(dec.decode(e.value)) as JobRecord) : undefined;
  }

  /**
   * Moves a job to `to` if the state machine allows it from its current state; returns the new record.
   * Throws NotFoundError (no such job), JobStateError (a move the machine does not allow) or JobConflictError (another writer won).
   */
  async move(id: string, to: JobState, o: MoveDetails = {}): Promise<JobRecord> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') throw new NotFoundError(`no job ${id}`);
    const before = JSON.parse(dec.decode(e.value)) as JobRecord;
    const after = moved(before, to, this.now(), o);
    try {
      await this.kv.update(id, enc.encode(JSON.stringify(after)), e.revision);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) throw new JobConflictError(id, before.state, to, { cause: err });
      throw err;
    }
    const last = after.history[after.history.length - 1];
    this.publish({ id, from: before.state, to, at: last.at, ...(o.reason === undefined ? {} : { reason: o.reason }) });
    return after;
  }

  /** Every job, in submission order. */
  async list(): Promise<JobRecord[]> {
    const ids: string[] = [];
    for await (const k of await this.kv.keys()) ids.push(k);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((r): r is JobRecord => r !== undefined).sort((a, b) => a.seq - b.seq);
  }

  private publish(e: JobEvent): void {
    this.nc.publish(eventsSubject(e.id), enc.encode(JSON.stringify(e)));
  }
}
