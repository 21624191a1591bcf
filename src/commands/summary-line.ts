import type { Summary } from '../coordinator/session.js';
import type { RobustAccuracy } from '../coordinator/evaluation.js';

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);

/** 'under attack at ε 0.1: FGSM accuracy 51.20%  PGD-20 accuracy 40.10%', naming the attacks that ran. */
export function robustLine(a: RobustAccuracy): string {
  const parts = [a.fgsm === undefined ? '' : `FGSM accuracy ${pct(a.fgsm)}`, a.pgd === undefined ? '' : `PGD-${a.pgdSteps} accuracy ${pct(a.pgd)}`];
  return `under attack at ε ${a.epsilon}: ${parts.filter(Boolean).join('  ')}`;
}

/** The closing lines a person reads; with --json the summary is already in the log stream. */
export function printSummary(s: Summary, outDir: string, json: boolean | undefined): void {
  if (json) return;
  const head = `${s.job}: ${s.status} in ${s.wallSeconds.toFixed(1)}s — ${s.steps} steps, ${Math.round(s.samplesPerSecond)} samples/s on ${s.workers} worker(s) (${s.backend})\n`;
  if (s.gan) {
    const g = s.gan;
    const modes = g.modes === undefined ? '' : `  modes covered ${g.modesCovered}/${g.modes}  high-quality samples ${pct(g.highQuality)}`;
    const line = (name: string, c: { meanConfidence: number; classEntropy: number; inceptionScore: number }) =>
      `\n  ${name}: mean confidence ${c.meanConfidence.toFixed(3)}  class entropy ${c.classEntropy.toFixed(3)} nats  inception score ${c.inceptionScore.toFixed(2)}`;
    const score = g.score ? line('generated', g.score.generated) + line('real     ', g.score.real) : '';
    const samples = g.pictures.length > 0 ? ` samples/ (${g.pictures.length} picture${g.pictures.length === 1 ? '' : 's'}),` : '';
    process.stderr.write(`${head}  ${g.iterations} iterations  D loss ${g.dLoss.toFixed(4)}  G loss ${g.gLoss.toFixed(4)}${modes}${score}\n  wrote ${outDir}/summary.json, generator/, discriminator/,${samples} metrics.jsonl, log.jsonl\n`);
    return;
  }
  const a = s.adversarial;
  const robust = a ? `  ${robustLine(a)}\n` : '';
  process.stderr.write(
    head +
      `  train loss ${s.train?.loss.toFixed(4) ?? '-'}  eval loss ${s.eval?.loss.toFixed(4) ?? '-'}  eval accuracy ${pct(s.eval?.accuracy)}\n` +
      robust +
      `  wrote ${outDir}/summary.json, model/,${s.gallery ? ` ${s.gallery},` : ''} metrics.jsonl, log.jsonl\n`,
  );
}

/** `dtrain attack`'s closing lines. */
export function printAttackSummary(s: Summary, outDir: string, json: boolean | undefined): void {
  if (json || !s.adversarial) return;
  const files = ['summary.json', ...(s.gallery ? [s.gallery] : []), 'log.jsonl'].join(', ');
  process.stderr.write(
    `${s.job}: ${s.status} in ${s.wallSeconds.toFixed(1)}s — ${Math.round(s.samplesPerSecond)} test samples/s on ${s.workers} worker(s) (${s.backend})\n` +
      `  clean accuracy ${pct(s.adversarial.clean)}  loss ${s.eval?.loss.toFixed(4) ?? '-'}\n` +
      `  ${robustLine(s.adversarial)}\n` +
      `  wrote ${outDir}/${files}\n`,
  );
}
