/**
 * Prometheus metrics of a coordinator (`--metrics-port P`), through
 * prom-client, served at http://HOST:P/metrics by node's own http server.
 * Per step, from the workers' reports: steps and samples counters; the
 * step's wall time; each worker's compute time and collective time (the
 * all-reduce, the optimizer and the wait for slower workers) as histograms
 * labelled by worker rank; skipped steps; evaluations. Names follow the
 * Prometheus conventions (`_total`, `_seconds`) and pass promtool.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A worker's report of one step, with its rank. */
export interface StepReport {
  rank: number;
  count: number;
  computeMs: number;
  commMs: number;
  skipped?: boolean;
}

/** What the step loop tells an observer about each finished step. */
export interface StepObserver {
  /** Every worker's report of one step, and the step's wall time since the previous one. */
  step(reports: StepReport[], seconds: number): void;
  evaluation(seconds: number): void;
}

const STEP_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

export class JobMetrics implements StepObserver {
  readonly registry = new Registry();
  private readonly steps = new Counter({ name: 'dtrain_steps_total', help: 'Training steps every worker has finished.', registers: [this.registry] });
  private readonly samples = new Counter({ name: 'dtrain_samples_total', help: 'Training samples of the finished steps.', registers: [this.registry] });
  private readonly skipped = new Counter({ name: 'dtrain_skipped_steps_total', help: 'Steps skipped for a loss or gradient that was not finite (train.onNonFinite skip-step).', registers: [this.registry] });
  private readonly stepTime = new Histogram({ name: 'dtrain_step_seconds', help: 'Wall time between finished steps, at the coordinator.', buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly compute = new Histogram({ name: 'dtrain_worker_compute_seconds', help: "A worker's forward and backward pass of a step.", labelNames: ['worker'], buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly collective = new Histogram({ name: 'dtrain_worker_collective_seconds', help: "A worker's gradient sum and update of a step, waiting for slower workers included.", labelNames: ['worker'], buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly evaluations = new Histogram({ name: 'dtrain_evaluation_seconds', help: 'Test-set evaluations, during training and at its end.', buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60], registers: [this.registry] });

  constructor() {
    // prom-client's default process metrics include gauges named *_total (nodejs_active_handles_total), which
    // promtool's conventions refuse: the coordinator's memory is measured here instead.
    new Gauge({
      name: 'dtrain_coordinator_resident_memory_bytes',
      help: "The coordinator process's resident memory.",
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage().rss);
      },
    });
  }

  step(reports: StepReport[], seconds: number): void {
    this.steps.inc();
    this.stepTime.observe(seconds);
    if (reports.length > 0 && reports.every((r) => r.skipped)) this.skipped.inc();
    for (const r of reports) {
      this.samples.inc(r.count);
      this.compute.observe({ worker: String(r.rank) }, r.computeMs / 1000);
      this.collective.observe({ worker: String(r.rank) }, r.commMs / 1000);
    }
  }

  evaluation(seconds: number): void {
    this.evaluations.observe(seconds);
  }
}

/** Serves `registry` at http://host:port/metrics (404 elsewhere); resolves once listening. Port 0 picks a free one (see the returned address). */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('dtrain serves /metrics only\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`, close: () => new Promise((r) => server.close(() => r())) };
}
