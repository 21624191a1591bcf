import type { Summary } from '../coordinator/session.js';

/** The closing lines a person reads; with --json the summary is already in the log stream. */
export function printSummary(s: Summary, outDir: string, json: boolean | undefined): void {
  if (json) return;
  const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
  process.stderr.write(
    `${s.job}: ${s.status} in ${s.wallSeconds.toFixed(1)}s — ${s.steps} steps, ${Math.round(s.samplesPerSecond)} samples/s on ${s.workers} worker(s) (${s.backend})\n` +
      `  train loss ${s.train?.loss.toFixed(4) ?? '-'}  eval loss ${s.eval?.loss.toFixed(4) ?? '-'}  eval accuracy ${pct(s.eval?.accuracy)}\n` +
      `  wrote ${outDir}/summary.json, model/, metrics.jsonl, log.jsonl\n`,
  );
}
