/**
 * Prometheus metrics of a coordinator (`--metrics-port P`), through
 * prom-client, served at http://HOST:P/metrics by node's own http server.
 * Per step, from the workers' reports: steps and samples counters; the
 * step's wall time; each worker's compute time and collective time (the
 * all-reduce, the optimizer and the wait for slower workers) as histograms
 * labelled by worker rank, split further into the wait for peers and the
 * exchange, with the bytes summed; skipped steps; evaluations; dropped
 * messages (coordinator and workers); recoveries. Names follow the
 * Prometheus conventions (`_total`, `_seconds`, `_bytes`) and pass promtool.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobObserver, StepReport } from './observer.js';

const STEP_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

const BYTE_BUCKETS = [1 << 10, 1 << 14, 1 << 17, 1 << 20, 1 << 22, 1 << 24, 1 << 26, 1 << 28, 1 << 30];

export class JobMetrics implements JobObserver {
  readonly registry = new Registry();
  private readonly steps = new Counter({ name: 'dtrain_steps_total', help: 'Training steps every worker has finished.', registers: [this.registry] });
  private readonly samples = new Counter({ name: 'dtrain_samples_total', help: 'Training samples of the finished steps.', registers: [this.registry] });
  private readonly skipped = new Counter({ name: 'dtrain_skipped_steps_total', help: 'Steps skipped for a loss or gradient that was not finite (train.onNonFinite skip-step).', registers: [this.registry] });
  private readonly stepTime = new Histogram({ name: 'dtrain_step_seconds', help: 'Wall time between finished steps, at the coordinator.', buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly compute = new Histogram({ name: 'dtrain_worker_compute_seconds', help: "A worker's forward and backward pass of a step.", labelNames: ['worker'], buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly collective = new Histogram({ name: 'dtrain_worker_collective_seconds', help: "A worker's gradient sum and update of a step, waiting for slower workers included.", labelNames: ['worker'], buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly wait = new Histogram({ name: 'dtrain_worker_wait_seconds', help: "A worker's wait for the first word from a peer in a step's collectives (the slower workers' lag).", labelNames: ['worker'], buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly reduce = new Histogram({ name: 'dtrain_worker_allreduce_seconds', help: "A worker's exchange in a step's collectives, after the wait.", labelNames: ['worker'], buckets: STEP_BUCKETS, registers: [this.registry] });
  private readonly reduceBytes = new Histogram({ name: 'dtrain_worker_allreduce_bytes', help: 'The bytes a worker summed over the workers in a step (gradients, batch-norm statistics).', labelNames: ['worker'], buckets: BYTE_BUCKETS, registers: [this.registry] });
  private readonly dropped = new Counter({ name: 'dtrain_dropped_messages_total', help: 'Malformed or unexpected messages dropped, by the process that dropped them.', labelNames: ['process'], registers: [this.registry] });
  private readonly recoveries = new Counter({ name: 'dtrain_recoveries_total', help: 'Lost workers or shards the job went on without (dtrain coordinator: maxRestarts).', registers: [this.registry] });
  /** Each worker's drop count at its last report (cumulative over its session). */
  private readonly workerDrops = new Map<number, number>();
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

  step(_step: number, reports: StepReport[], seconds: number): void {
    this.steps.inc();
    this.stepTime.observe(seconds);
    if (reports.length > 0 && reports.every((r) => r.skipped)) this.skipped.inc();
    for (const r of reports) {
      const worker = { worker: String(r.rank) };
      this.samples.inc(r.count);
      this.compute.observe(worker, r.computeMs / 1000);
      this.collective.observe(worker, r.commMs / 1000);
      if (r.waitMs !== undefined) this.wait.observe(worker, r.waitMs / 1000);
      if (r.reduceMs !== undefined) this.reduce.observe(worker, r.reduceMs / 1000);
      if (r.reduceBytes !== undefined) this.reduceBytes.observe(worker, r.reduceBytes);
      if (r.dropped !== undefined) {
        // A worker's count starts again with each session: a smaller one is a new session's.
        const before = this.workerDrops.get(r.rank) ?? 0;
        this.dropped.inc({ process: 'worker' }, r.dropped >= before ? r.dropped - before : r.dropped);
        this.workerDrops.set(r.rank, r.dropped);
      }
    }
  }

  droppedMessage(): void {
    this.dropped.inc({ process: 'coordinator' });
  }

  recovery(): void {
    this.recoveries.inc();
    this.workerDrops.clear();
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
