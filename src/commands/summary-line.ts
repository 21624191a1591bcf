import type { Summary } from '../coordinator/session.js';

/** The closing lines a person reads; with --json the summary is already in the log stream. */
export function printSummary(s: Summary, outDir: string, json: boolean | undefined): void {
  if (json) return;
  const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
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
  const robust = a ? `  under attack at ε ${a.epsilon}: FGSM accuracy ${pct(a.fgsm)}  PGD-${a.pgdSteps} accuracy ${pct(a.pgd)}\n` : '';
  process.stderr.write(
    head +
      `  train loss ${s.train?.loss.toFixed(4) ?? '-'}  eval loss ${s.eval?.loss.toFixed(4) ?? '-'}  eval accuracy ${pct(s.eval?.accuracy)}\n` +
      robust +
      `  wrote ${outDir}/summary.json, model/, metrics.jsonl, log.jsonl\n`,
  );
}
