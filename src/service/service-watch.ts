/**
 * What service mode serves over HTTP: Prometheus metrics, always (the jobs'
 * step metrics, summed over jobs, and the service's own: jobs by state and
 * the queue's depth), and with --dashboard the dashboard's list of every
 * job in the store and each job's live page while it runs.
 */
import { Gauge } from 'prom-client';
import type { MetricsSink } from '../coordinator/metrics.js';
import type { Progress } from '../coordinator/progress.js';
import { Dashboard } from '../observe/dashboard.js';
import { JobView, type JobStatus } from '../observe/job-view.js';
import { Observers, type JobObserver } from '../observe/observer.js';
import { JobMetrics } from '../observe/prometheus.js';
import { JOB_STATES, type JobRecord } from './job-states.js';

/** What a running job is given to feed: the step observers and the dashboard's metrics sink. */
export interface JobWatch {
  observer: JobObserver;
  metrics?: MetricsSink;
}

export class ServiceWatch {
  readonly metrics = new JobMetrics();
  readonly board: Dashboard | undefined;

  constructor(
    /** The store's records, read at each scrape and each dashboard list. */
    private readonly records: () => Promise<JobRecord[]>,
    private readonly jobDir: (id: string) => string,
    dashboard: boolean,
  ) {
    const list = records;
    new Gauge({
      name: 'dtrain_jobs',
      help: 'Jobs in the store, by state.',
      labelNames: ['state'],
      registers: [this.metrics.registry],
      async collect() {
        const all = await list();
        for (const s of JOB_STATES) this.set({ state: s }, all.filter((r) => r.state === s).length);
      },
    });
    new Gauge({
      name: 'dtrain_queue_depth',
      help: 'Jobs waiting to run.',
      registers: [this.metrics.registry],
      async collect() {
        this.set((await list()).filter((r) => r.state === 'queued').length);
      },
    });
    this.board = dashboard ? new Dashboard(200, () => this.refresh()) : undefined;
  }

  /** The dashboard's list brought up to the store: every job, with its state. */
  async refresh(): Promise<void> {
    if (!this.board) return;
    for (const r of (await this.records()).sort((a, b) => a.seq - b.seq)) {
      if (this.board.wasEvicted(r.id)) continue;
      const view = this.viewOf(this.board, r);
      if (view.status !== r.state) view.setStatus(r.state as JobStatus, r.reason);
    }
  }

  /** A job starts: its page on the dashboard goes live, and its steps count in the metrics. */
  started(r: JobRecord, progress: Progress): JobWatch {
    if (!this.board) return { observer: this.metrics };
    const view = this.viewOf(this.board, r);
    view.setStatus('running');
    progress.listen((e) => {
      if (e.kind === 'note') view.note(e.text);
    });
    return { observer: new Observers([this.metrics, view]), metrics: view };
  }

  /** The job's view on the dashboard, made (in the record's state) when it has none. */
  private viewOf(board: Dashboard, r: JobRecord): JobView {
    return board.get(r.id) ?? board.add(new JobView(r.id, r.name, typeOf(r), this.jobDir(r.id), r.state as JobStatus));
  }

  /** A job ended: its state on the dashboard. */
  ended(id: string, state: JobStatus, reason?: string): void {
    this.board?.get(id)?.setStatus(state, reason);
  }
}

/** The job's type, as its validated spec gives it (every type fills it in). */
function typeOf(r: JobRecord): string {
  return typeof r.spec.type === 'string' ? r.spec.type : '';
}
