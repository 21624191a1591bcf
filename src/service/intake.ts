/**
 * Taking submissions from the work-queue stream: each message is checked,
 * recorded as a queued job in the job store, and only then acknowledged (so
 * a coordinator that dies in between gets it again, and a redelivered
 * message finds its job already recorded). A refused job is answered with
 * its errors and acknowledged too: it is removed, never retried.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, RetentionPolicy, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { DataError, errorMessage, JobSpecError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { JobExistsError, type JobRecord } from './job-states.js';
import type { JobStore } from './job-store.js';
import { brief, failureOf, type SubmitReply } from './protocol.js';
import { REPLY_HEADER, SUBMISSIONS_CONSUMER, SUBMISSIONS_STREAM, SUBMIT_SUBJECT } from './subjects.js';
import type { SubmittedRules } from '../spec/job-file.js';
import { checkSubmission } from './validate.js';
import { DEFAULT_CAPS, OVER_LIMIT, overCaps, type ServiceCaps } from './caps.js';

/** A refused submission's code: JobSpecError's, as `dtrain run` refuses a bad job file. */
const JOB_SPEC = 'JOB_SPEC' satisfies JobSpecError['code'];

/** How long the coordinator has to record a submission before the stream delivers it again. */
const ACK_WAIT_MS = 60_000;

/** Creates the submissions stream (file storage, work-queue retention) if it is missing; clients and coordinators both call it. */
export async function ensureSubmissionStream(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(SUBMISSIONS_STREAM);
  } catch {
    await jsm.streams.add({
      name: SUBMISSIONS_STREAM,
      subjects: [SUBMIT_SUBJECT],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
  }
}

export class Intake {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: JobStore,
    private readonly log: Logger,
    private readonly rules: SubmittedRules,
    /** Called with each newly queued job. */
    private readonly onQueued: (r: JobRecord) => void,
    private readonly caps: ServiceCaps = DEFAULT_CAPS,
  ) {}

  async start(jsm: JetStreamManager, js: JetStreamClient): Promise<void> {
    await ensureSubmissionStream(jsm);
    try {
      await jsm.consumers.info(SUBMISSIONS_STREAM, SUBMISSIONS_CONSUMER);
    } catch {
      await jsm.consumers.add(SUBMISSIONS_STREAM, { durable_name: SUBMISSIONS_CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ACK_WAIT_MS) });
    }
    const consumer = await js.consumers.get(SUBMISSIONS_STREAM, SUBMISSIONS_CONSUMER);
    const messages = await consumer.consume({ max_messages: 8 });
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) {
        try {
          await this.take(m);
        } catch (err) {
          // Not acknowledged: the stream delivers it again after ACK_WAIT_MS.
          this.log.error({ err: errorMessage(err), seq: m.seq }, 'could not record a submission; it will be delivered again');
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  private async take(m: JsMsg): Promise<void> {
    const replyTo = m.headers?.get(REPLY_HEADER) || undefined;
    const answer = (r: SubmitReply) => {
      if (replyTo) this.nc.publish(replyTo, JSON.stringify(r));
    };
    const checked = checkSubmission(m.data, m.seq, this.rules);
    if (!checked.ok) {
      this.log.warn({ seq: m.seq, id: checked.id, issues: checked.issues }, 'refused a submission');
      answer({ ok: false, error: checked.error, code: JOB_SPEC, issues: checked.issues });
      await m.ackAck();
      return;
    }
    const { id, priority, spec } = checked;
    // Counting the weights builds the job's networks from its data: a model or data that cannot be
    // built is a bad job, answered as one (left unacknowledged it would come back every ACK_WAIT_MS for ever).
    // The build is this machine's own computation from the job alone: whatever it throws, the job is what is wrong.
    const over = await overCaps(spec, this.caps).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    if (over instanceof Error) {
      const issues = over instanceof JobSpecError ? over.issues.map((i) => ({ key: i.path, message: i.message })) : [{ key: over instanceof DataError ? 'data' : 'model', message: over.message }];
      this.log.warn({ seq: m.seq, id, issues }, 'refused a submission whose model or data cannot be built');
      answer({ ok: false, error: `invalid job ${id}: ${issues.map((i) => `${i.key}: ${i.message}`).join('; ')}`, code: JOB_SPEC, issues });
      await m.ackAck();
      return;
    }
    if (over.length > 0) {
      this.log.warn({ seq: m.seq, id, issues: over }, 'refused a submission over this coordinator\'s caps');
      answer({ ok: false, error: `job ${id} is over this coordinator's caps: ${over.map((i) => `${i.key}: ${i.message}`).join('; ')}`, code: OVER_LIMIT, issues: over });
      await m.ackAck();
      return;
    }
    let record: JobRecord;
    try {
      record = await this.store.add({ id, name: spec.name, priority, seq: m.seq, spec: spec as unknown as Record<string, unknown> });
    } catch (err) {
      const existing = await this.store.get(id);
      if (!existing) throw err;
      if (existing.seq !== m.seq) {
        answer(failureOf(new JobExistsError(id, existing.history[0]?.at), [{ key: 'id', message: 'is taken' }]));
        await m.ackAck();
        return;
      }
      record = existing; // this message again: it was recorded, not yet acknowledged
    }
    await m.ackAck();
    this.log.info({ id, name: spec.name, seq: m.seq, priority }, 'job queued');
    answer({ ok: true, job: brief(record) });
    this.onQueued(record);
  }
}
