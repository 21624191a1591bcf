/** A VAE job's closing lines: the losses, the test set's ELBO and its terms, the files written. */
import type { Summary } from '../../coordinator/session.js';
import type { VaeSection } from './coordinator.js';

const nats = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));

export function describeVae(s: Summary, outDir: string): string {
  const e = (s.eval ?? {}) as Record<string, number | undefined>;
  const vae = s.vae as VaeSection | undefined;
  const pictures = vae && vae.pictures.length > 0 ? ` ${vae.pictures.join(', ')},` : '';
  const scores = s.eval ? `  train loss ${s.train?.loss.toFixed(2) ?? '-'}  eval ELBO ${nats(e.elbo)} nats (reconstruction ${nats(e.reconstruction)}, KL ${nats(e.kl)}) a test sample\n` : '';
  const nets = vae ? ' encoder/, decoder/,' : '';
  return `${scores}  wrote ${outDir}/summary.json,${nets}${pictures} metrics.jsonl, plots/, tensorboard/, trace.json, log.jsonl\n`;
}
