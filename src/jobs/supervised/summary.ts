import type { Summary } from '../../coordinator/session.js';

export const percent = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);

/** The test set's accuracy, or (regression) its mean absolute error. */
function scoreOf(s: Summary): string {
  const e = (s.eval ?? {}) as Record<string, number | undefined>;
  const mae = e.meanAbsoluteError;
  const main = mae === undefined ? `eval accuracy ${percent(e.accuracy)}` : `eval mean absolute error ${mae.toPrecision(4)}`;
  // The model module's metrics: every other figure of the evaluation.
  const own = Object.entries(e).filter(([k]) => !['loss', 'accuracy', 'meanAbsoluteError'].includes(k));
  return [main, ...own.map(([k, v]) => `eval ${k} ${v?.toPrecision(4)}`)].join('  ');
}

/** A classifier job's closing lines: losses, test accuracy, `more` (a type's own lines), the files written. */
export function describeClassifier(s: Summary, outDir: string, more = ''): string {
  const gallery = typeof s.gallery === 'string' ? ` ${s.gallery},` : '';
  return (
    `  train loss ${s.train?.loss.toFixed(4) ?? '-'}  eval loss ${s.eval?.loss.toFixed(4) ?? '-'}  ${scoreOf(s)}\n` +
    more +
    `  wrote ${outDir}/summary.json, model/,${gallery} metrics.jsonl, plots/, tensorboard/, trace.json, log.jsonl\n`
  );
}
