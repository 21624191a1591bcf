import type { Summary } from '../../coordinator/session.js';
import { percent } from '../supervised/summary.js';
import type { RobustAccuracy } from './coordinator.js';

/** 'under attack at ε 0.1: FGSM accuracy 51.20%  PGD-20 accuracy 40.10%', naming the attacks that ran. */
export function robustLine(a: RobustAccuracy): string {
  const parts = [a.fgsm === undefined ? '' : `FGSM accuracy ${percent(a.fgsm)}`, a.pgd === undefined ? '' : `PGD-${a.pgdSteps} accuracy ${percent(a.pgd)}`];
  return `under attack at ε ${a.epsilon}: ${parts.filter(Boolean).join('  ')}`;
}

/** summary.json's `adversarial` section, when there is one. */
export const robustOf = (s: Summary) => s.adversarial as RobustAccuracy | undefined;

/** `dtrain attack`'s closing lines. */
export function attackSummary(s: Summary, outDir: string): string {
  const a = robustOf(s);
  if (!a) return '';
  const files = ['summary.json', ...(typeof s.gallery === 'string' ? [s.gallery] : []), 'log.jsonl'].join(', ');
  return (
    `${s.job}: ${s.status} in ${s.wallSeconds.toFixed(1)}s — ${Math.round(s.samplesPerSecond)} test samples/s on ${s.workers} worker(s) (${s.backend})\n` +
    `  clean accuracy ${percent(a.clean)}  loss ${s.eval?.loss.toFixed(4) ?? '-'}\n` +
    `  ${robustLine(a)}\n` +
    `  wrote ${outDir}/${files}\n`
  );
}
