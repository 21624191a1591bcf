/**
 * Putting a submission into the work-queue stream, for the client and for
 * dtrain.api.submit alike: JetStream acknowledges once it is stored, so a
 * submission survives a coordinator (or none) being down. No message-id
 * deduplication: the job store refuses a second job with a taken id, with
 * an answer, where the stream would drop it silently (a refused job's id
 * would stay taken for the whole duplicate window).
 */
import { headers } from '@nats-io/nats-core';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { REPLY_HEADER, SUBMIT_SUBJECT } from './subjects.js';

export async function publishSubmission(js: JetStreamClient, data: Uint8Array | string, replyTo: string | undefined): Promise<PubAck> {
  const h = headers();
  if (replyTo) h.set(REPLY_HEADER, replyTo);
  return js.publish(SUBMIT_SUBJECT, data, { headers: h });
}
