/**
 * A service-mode cluster for tests: a real nats-server, a `dtrain
 * coordinator --nats` process on a fixed 127.0.0.1 port and `dtrain worker
 * --serve` (and `dtrain ps --serve`) processes, each stopped by pid at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startCli, stopProcess, tempDir, waitForOutput, type CliResult } from './cli.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

export interface ServiceCluster {
  nats: NatsServer;
  endpoint: string;
  stateDir: string;
  coordinator: { child: ChildProcess; done: Promise<CliResult> };
  startCoordinator(): Promise<void>;
  /** What the coordinator has written on stderr so far. */
  coordinatorOutput(): string;
  /** SIGKILL: the coordinator dies without a word, as in a crash. */
  killCoordinator(): Promise<void>;
  stop(): Promise<void>;
}

export async function startServiceCluster(workers: number, shards = 0, coordinatorArgs: string[] = []): Promise<ServiceCluster> {
  const nats = await startNatsServer();
  const tmp = tempDir('dtrain-service-');
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const stateDir = join(tmp.dir, 'state');
  const serving = [
    ...Array.from({ length: workers }, (_, i) => startCli(['worker', '--connect', endpoint, '--serve', '--log-file', join(tmp.dir, `worker${i}.jsonl`)])),
    ...Array.from({ length: shards }, (_, i) => startCli(['ps', '--connect', endpoint, '--serve', '--log-file', join(tmp.dir, `ps${i}.jsonl`)])),
  ];
  let output = '';
  const cluster: ServiceCluster = {
    coordinatorOutput: () => output,
    nats,
    endpoint,
    stateDir,
    coordinator: undefined as unknown as ServiceCluster['coordinator'],
    async startCoordinator() {
      const c = startCli(['coordinator', '--nats', nats.url, '--bind', endpoint, '--state-dir', stateDir, '--no-progress', ...coordinatorArgs]);
      cluster.coordinator = c;
      output = '';
      c.child.stderr?.on('data', (d) => (output += d));
      await waitForOutput(c.child, /workers join with/);
    },
    async killCoordinator() {
      const c = cluster.coordinator.child;
      if (c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGKILL');
      await cluster.coordinator.done;
    },
    async stop() {
      // SIGTERM lets a --serve worker stop its job process too.
      await Promise.all([...serving.map((w) => stopProcess(w.child)), cluster.coordinator ? stopProcess(cluster.coordinator.child) : undefined]);
      await nats.stop();
      tmp.cleanup();
    },
  };
  await cluster.startCoordinator();
  return cluster;
}
