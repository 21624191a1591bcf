/**
 * Checking a submission before it is recorded: the envelope ({job, id?,
 * priority?}) and then the job spec, as `dtrain run` checks a job file. A
 * refusal names every bad key.
 */
import { JobSpecError } from '../util/errors.js';
import { parseJobSpec } from '../jobs/registry.js';
import { formatZodError, type SubmittedRules } from '../spec/job-file.js';
import type { JobSpec } from '../spec/job-spec.js';
import { submissionSchema, type Issue } from './protocol.js';

export type Checked = { ok: true; id: string; priority: number; spec: JobSpec } | { ok: false; id?: string; error: string; issues: Issue[] };

/** `seq` names a job submitted without an id: job-<seq>, the same again if the message is delivered twice. */
export function checkSubmission(data: Uint8Array, seq: number, rules: SubmittedRules): Checked {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    return refuse(undefined, [{ key: '', message: `the submission is not JSON: ${(err as Error).message}` }]);
  }
  const env = submissionSchema.safeParse(raw);
  if (!env.success) return refuse(undefined, formatZodError(env.error).map((i) => ({ key: i.path, message: i.message })));
  if (env.data.job === undefined) return refuse(env.data.id, [{ key: 'job', message: 'is required: the job spec, as a job file holds it' }]);
  const id = env.data.id ?? `job-${seq}`;
  try {
    return { ok: true, id, priority: env.data.priority, spec: parseJobSpec(env.data.job, `job ${id}`, {}, undefined, rules) };
  } catch (err) {
    if (err instanceof JobSpecError) return refuse(id, err.issues.map((i) => ({ key: i.path, message: i.message })));
    throw err;
  }
}

function refuse(id: string | undefined, issues: Issue[]): Checked {
  const lines = issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message));
  return { ok: false, ...(id === undefined ? {} : { id }), error: `invalid job${id === undefined ? '' : ` ${id}`}: ${lines.join('; ')}`, issues };
}
