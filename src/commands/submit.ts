/**
 * `dtrain submit job.yaml [--wait]`: puts a job in a service-mode
 * coordinator's queue. Prints the job id on stdout (for scripts); with
 * --wait, draws its progress until it ends and prints the summary.
 */
import type { Summary } from '../coordinator/session.js';
import { DtrainClient, JobRefusedError, type JobProgress, type JobRecord } from '../client/index.js';
import { Progress } from '../coordinator/progress.js';
import { JobSpecError } from '../util/errors.js';
import { jobForSubmission, type Overrides } from '../spec/job-file.js';
import { clientOf, type ClientFlags } from './client-flags.js';
import { onStopSignals } from './job-output.js';
import { printSummary } from './summary-line.js';
import { jobTypeOf } from '../jobs/registry.js';

export interface SubmitFlags extends ClientFlags, Pick<Overrides, 'set'> {
  id?: string;
  priority?: number;
  wait?: boolean;
  json?: boolean;
  progress?: boolean;
}

export async function submitCommand(file: string, flags: SubmitFlags): Promise<number> {
  const job = jobForSubmission(file, { set: flags.set });
  const client = await clientOf(flags);
  const say = (line: string) => flags.json || process.stderr.write(`${line}\n`);
  try {
    let submitted;
    try {
      submitted = await client.submit(job, { id: flags.id, priority: flags.priority });
    } catch (err) {
      if (err instanceof JobRefusedError) throw new JobSpecError(file, err.issues.map((i) => ({ path: i.key, message: i.message })));
      throw err;
    }
    const { id, seq } = submitted;
    if (submitted.job) say(`${file}: submitted as job ${id} (${submitted.job.state})`);
    else say(`${file}: submitted as job ${id}; no coordinator has taken it yet, it waits in the queue (stream sequence ${seq})`);
    if (!flags.wait) {
      process.stdout.write(flags.json ? `${JSON.stringify({ id, seq, state: submitted.job?.state ?? 'submitted' })}\n` : `${id}\n`);
      return 0;
    }
    return await waitFor(client, id, flags);
  } finally {
    await client.close();
  }
}

/** Draws the job's progress until it ends; exit code 0 if it succeeded. Ctrl-C stops watching, not the job. */
export async function waitFor(client: DtrainClient, id: string, flags: { json?: boolean; progress?: boolean }): Promise<number> {
  const progress = new Progress(flags.json || flags.progress === false ? undefined : process.stderr, id);
  const abort = new AbortController();
  const removeHandlers = onStopSignals(() => abort.abort());
  let last: JobRecord;
  try {
    last = await client.watch(id, {
      signal: abort.signal,
      onProgress: (p) => show(progress, p),
      onEvent: (e) => progress.note(`${id}: ${e.to}${e.reason ? ` (${e.reason})` : ''}`),
    });
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    progress.done();
    process.stderr.write(`stopped watching; job ${id} goes on (dtrain status ${id}, dtrain cancel ${id})\n`);
    return 130;
  } finally {
    removeHandlers();
  }
  progress.done();
  if (flags.json) process.stdout.write(`${JSON.stringify(last)}\n`);
  else if (last.summary && last.state === 'succeeded') printSummary(last.summary as unknown as Summary, last.output ?? '', false, jobTypeOf({ type: String(last.spec.type), name: id }));
  else process.stderr.write(`job ${id} ${last.state}${last.reason ? `: ${last.reason}` : ''}\n`);
  return last.state === 'succeeded' ? 0 : 1;
}

function show(progress: Progress, p: JobProgress): void {
  if (p.kind === 'step') progress.update(p);
  else if (p.kind === 'count') progress.count(p.done, p.total, p.what, p.perSecond);
  else progress.note(p.text);
}
