/** `dtrain status ID`, `dtrain jobs` and `dtrain cancel ID`: service-mode jobs, asked over NATS. */
import { checkJobId, type JobBrief, type JobStatus } from '../client/index.js';
import type { JobState } from '../service/job-states.js';
import { formatDuration } from '../coordinator/progress.js';
import { clientOf, type ClientFlags } from './client-flags.js';

export interface QueryFlags extends ClientFlags {
  json?: boolean;
}

export async function statusCommand(id: string, flags: QueryFlags): Promise<number> {
  checkJobId(id);
  const client = await clientOf(flags);
  try {
    const r = await client.status(id);
    process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : describe(r));
    return 0;
  } finally {
    await client.close();
  }
}

export async function jobsCommand(flags: QueryFlags & { state?: JobState }): Promise<number> {
  const client = await clientOf(flags);
  try {
    const jobs = await client.list(flags.state);
    if (flags.json) process.stdout.write(`${JSON.stringify(jobs)}\n`);
    else if (jobs.length === 0) process.stdout.write(flags.state ? `no ${flags.state} jobs\n` : 'no jobs\n');
    else process.stdout.write(table(jobs));
    return 0;
  } finally {
    await client.close();
  }
}

export async function cancelCommand(id: string, flags: QueryFlags & { reason?: string }): Promise<number> {
  checkJobId(id);
  const client = await clientOf(flags);
  try {
    const j = await client.cancel(id, flags.reason);
    process.stdout.write(flags.json ? `${JSON.stringify(j)}\n` : `${j.id}: ${j.state}${j.reason ? ` (${j.reason})` : ''}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

function describe(r: JobStatus): string {
  const lines = [`${r.id}  ${r.name}  ${r.state}${r.reason ? `: ${r.reason}` : ''}`, `  priority ${r.priority}, submission ${r.seq}${r.output ? `, outputs in ${r.output} (on the coordinator)` : ''}`];
  for (const h of r.history) lines.push(`  ${h.at}  ${h.state}${h.reason ? ` (${h.reason})` : ''}`);
  const p = r.progress;
  if (p?.kind === 'step') lines.push(`  step ${p.step}/${p.total}  loss ${p.loss.toFixed(4)}  ${Math.round(p.samplesPerSecond)} samples/s`);
  if (p?.kind === 'count') lines.push(`  ${p.done}/${p.total} ${p.what}`);
  // The latest note when nothing has moved since (waiting for workers, a recovery).
  if (r.note?.kind === 'note' && (!p || r.note.at >= p.at)) lines.push(`  ${r.note.text}`);
  const s = r.summary as { eval?: Record<string, unknown> | null; steps?: number; stoppedAtStep?: number; totalSteps?: number; wallSeconds?: number } | undefined;
  const steps = s?.stoppedAtStep === undefined ? `${s?.steps ?? 0} steps` : `stopped after step ${s.stoppedAtStep} of ${s.totalSteps}`;
  if (s) lines.push(`  ${steps} in ${formatDuration(s.wallSeconds ?? NaN)}${s.eval ? `, ${evalScores(s.eval)}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** A job's test scores, whatever its type reports: shares (accuracy, exact match) as percentages. */
function evalScores(scores: Record<string, unknown>): string {
  const numbers = Object.entries(scores).filter((e): e is [string, number] => typeof e[1] === 'number');
  return `eval ${numbers.map(([k, v]) => (/accuracy|match/i.test(k) ? `${k} ${(100 * v).toFixed(2)}%` : `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)).join(', ')}`;
}

function table(jobs: JobBrief[]): string {
  const rows = [['ID', 'NAME', 'STATE', 'PRIORITY', 'SUBMITTED', 'ENDED'], ...jobs.map((j) => [j.id, j.name, j.state, String(j.priority), j.submittedAt, j.endedAt ?? ''])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n') + '\n';
}
