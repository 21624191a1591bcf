/**
 * The names service mode uses on NATS. Submissions go into the work-queue
 * stream DTRAIN_SUBMISSIONS (subject dtrain.submit); the coordinator answers
 * each one on the inbox named in its Dtrain-Reply header. Job records live in
 * the KV bucket dtrain-jobs (job-store.ts); dtrain.api.* are request/reply.
 */
export const SUBMISSIONS_STREAM = 'DTRAIN_SUBMISSIONS';
export const SUBMIT_SUBJECT = 'dtrain.submit';
export const SUBMISSIONS_CONSUMER = 'dtrain-coordinator';
/** Header of a submission naming the subject its answer (accepted or refused) goes to. */
export const REPLY_HEADER = 'Dtrain-Reply';

export const API = {
  submit: 'dtrain.api.submit',
  status: 'dtrain.api.status',
  list: 'dtrain.api.list',
  cancel: 'dtrain.api.cancel',
} as const;

/** Coordinators answer the API as one queue group: one answer per request. */
export const API_QUEUE = 'dtrain-coordinators';

export const eventsSubject = (id: string) => `dtrain.jobs.${id}.events`;
export const progressSubject = (id: string) => `dtrain.jobs.${id}.progress`;

/** A job id is a KV key and one token of a subject: letters, digits, - and _. */
export const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;
