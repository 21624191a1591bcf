/**
 * DIR/plots/*.png: the run's curves against step, train and eval on one
 * chart per figure: loss.png, accuracy.png (with every <what>Accuracy
 * figure, e.g. the accuracy under an attack), mean-absolute-error.png,
 * losses.png (every <who>Loss figure, e.g. of a job's several networks),
 * throughput.png, and one for each other figure (a model module's metrics). Drawn when
 * the session ends, and after an evaluation (at most every RENDER_EVERY_MS)
 * so that a running job's folder shows its curves so far.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../image/png.js';
import { lineChart, type Series } from '../image/line-chart.js';
import type { Metrics, MetricsGroup, MetricsSink } from './metrics.js';
import { bounded } from '../observe/series.js';

export const PLOTS = 'plots';

/** Figures of a line that are no curve of their own (or are drawn as step times elsewhere). */
const NOT_PLOTTED = new Set(['step', 'epoch', 'iteration', 'lr', 'computeMs', 'commMs', 'spreadMs']);

const RENDER_EVERY_MS = 30_000;
/** Points kept per curve. */

/** A chart: its file, title, y label, and the (group, figure) pairs it draws. */
interface Figure {
  file: string;
  title: string;
  y: string;
  lines: { group: MetricsGroup; key: string; name: string }[];
  yRange?: [number, number];
}

export class PlotSink implements MetricsSink {
  /** Points by group, then figure. */
  private readonly points = new Map<string, [number, number][]>();
  private rendered = 0;

  /** `earlier`: a resumed run's metrics.jsonl so far (its training lines). */
  constructor(
    private readonly dir: string,
    earlier: string | Uint8Array = '',
  ) {
    for (const line of Buffer.from(earlier).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const { step, ...rest } = JSON.parse(line) as Metrics;
        if (typeof step === 'number') this.log(rest, step, 'train');
      } catch {
        // a line cut short by a crash: its point is left out
      }
    }
  }

  log(metrics: Metrics, step: number, group: MetricsGroup = 'train'): void {
    for (const [key, v] of Object.entries(metrics)) {
      if (typeof v !== 'number' || NOT_PLOTTED.has(key)) continue;
      const id = `${group}/${key}`;
      let list = this.points.get(id);
      if (!list) this.points.set(id, (list = []));
      list.push([step, v]);
      // Memory and drawing stay bounded (series.ts).
      this.points.set(id, bounded(list));
    }
    if (group !== 'train' && Date.now() - this.rendered >= RENDER_EVERY_MS) this.render();
  }

  close(): void {
    this.render();
  }

  /** Writes every figure that has a point. */
  render(): void {
    this.rendered = Date.now();
    mkdirSync(this.dir, { recursive: true });
    for (const f of this.figures()) {
      const series: Series[] = f.lines.flatMap((l) => {
        const points = this.points.get(`${l.group}/${l.key}`);
        return points ? [{ name: l.name, points, dashed: l.group !== 'train' }] : [];
      });
      if (series.length === 0) continue;
      writeFileSync(join(this.dir, f.file), encodePng(lineChart({ title: f.title, xLabel: 'step', yLabel: f.y, series, ...(f.yRange ? { yRange: f.yRange } : {}) })));
    }
  }

  /** The charts of the figures logged so far. */
  private figures(): Figure[] {
    const keys = new Set([...this.points.keys()].map((id) => id.slice(id.indexOf('/') + 1)));
    // Train, validation (data.validation's periodic evaluations) and eval (the test split).
    const both = (key: string, what: string) => [
      { group: 'train' as const, key, name: `train ${what}` },
      { group: 'validation' as const, key, name: `validation ${what}` },
      { group: 'eval' as const, key, name: `eval ${what}` },
    ];
    // Figures named <what>Accuracy (accuracy under an attack, say) join the accuracy chart; <who>Loss (the losses of a
    // job's several networks) make a chart of their own.
    const accuracies = [...keys].filter((k) => /.Accuracy$/.test(k)).flatMap((k) => both(k, k.replace(/Accuracy$/, '')));
    const losses = [...keys].filter((k) => /.Loss$/.test(k)).map((key) => ({ group: 'train' as const, key, name: `${key.replace(/Loss$/, '')} loss` }));
    const out: Figure[] = [
      { file: 'loss.png', title: 'loss', y: 'loss', lines: both('loss', 'loss') },
      { file: 'accuracy.png', title: 'accuracy', y: 'accuracy', lines: [...both('accuracy', 'accuracy'), ...accuracies], yRange: [0, 1] },
      { file: 'mean-absolute-error.png', title: 'mean absolute error', y: 'mae', lines: both('meanAbsoluteError', 'mae') },
      { file: 'losses.png', title: 'losses', y: 'loss', lines: losses },
      { file: 'throughput.png', title: 'throughput', y: 'samples/s', lines: [{ group: 'train', key: 'samplesPerSecond', name: 'samples/s' }] },
    ];
    const drawn = new Set(out.flatMap((f) => f.lines.map((l) => l.key)));
    for (const key of keys) if (!drawn.has(key)) out.push({ file: `${key.replace(/[^A-Za-z0-9_-]/g, '_')}.png`, title: key, y: key, lines: both(key, key) });
    return out;
  }
}
