import type { Summary } from '../coordinator/session.js';
import type { JobType } from '../jobs/job-type.js';

/** The closing lines a person reads: how the job ended, then the job type's own; with --json the summary is already in the log stream. */
export function printSummary(s: Summary, outDir: string, json: boolean | undefined, type: Pick<JobType, 'describe'>): void {
  if (json) return;
  const head = `${s.job}: ${s.status} in ${s.wallSeconds.toFixed(1)}s — ${s.steps} steps, ${Math.round(s.samplesPerSecond)} samples/s on ${s.workers} worker(s) (${s.backend})\n`;
  process.stderr.write(head + type.describe(s, outDir));
}
