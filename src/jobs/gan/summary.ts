import type { Summary } from '../../coordinator/session.js';
import { percent } from '../supervised/summary.js';
import type { GanScore } from './coordinator.js';

/** A GAN job's closing lines: losses, mode coverage or the classifier's scores, the files written. */
export function describeGan(s: Summary, outDir: string): string {
  const g = s.gan as GanScore | undefined;
  if (!g) return `  wrote ${outDir}/summary.json, log.jsonl\n`;
  const modes = g.modes === undefined ? '' : `  modes covered ${g.modesCovered}/${g.modes}  high-quality samples ${percent(g.highQuality)}`;
  const line = (name: string, c: { meanConfidence: number; classEntropy: number; inceptionScore: number }) =>
    `\n  ${name}: mean confidence ${c.meanConfidence.toFixed(3)}  class entropy ${c.classEntropy.toFixed(3)} nats  inception score ${c.inceptionScore.toFixed(2)}`;
  const score = g.score ? line('generated', g.score.generated) + line('real     ', g.score.real) : '';
  const samples = g.pictures.length > 0 ? ` samples/ (${g.pictures.length} picture${g.pictures.length === 1 ? '' : 's'}),` : '';
  return `  ${g.iterations} iterations  D loss ${g.dLoss.toFixed(4)}  G loss ${g.gLoss.toFixed(4)}${modes}${score}\n  wrote ${outDir}/summary.json, generator/, discriminator/,${samples} metrics.jsonl, plots/, tensorboard/, trace.json, log.jsonl\n`;
}
