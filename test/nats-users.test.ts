/**
 * deploy/nats/nats-server.conf with a real nats-server: the coordinator user
 * runs the service, the submitter user submits, follows and cancels jobs,
 * and can neither delete nor purge the queue stream or the job bucket,
 * write a job record, nor answer API requests; nobody connects anonymously.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, describe, expect, it } from 'vitest';
import { DtrainClient } from '../src/client/index.js';
import { SUBMISSIONS_STREAM } from '../src/service/subjects.js';
import { freePort, killStarted, runCli, startCli, stopProcess, tempDir, waitForOutput, writeJob } from './helpers/cli.js';
import { hasNatsServer, startNatsServer } from './helpers/nats-server.js';
import { withDeadline } from './helpers/fake-peer.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const CONFIG = fileURLToPath(new URL('../deploy/nats/nats-server.conf', import.meta.url));
const env = { COORDINATOR_PASSWORD: 'coordinator-secret-1', SUBMITTER_PASSWORD: 'submitter-secret-2' };

describe.skipIf(!hasNatsServer)('the NATS users of deploy/nats', () => {
  it('the submitter submits and cancels; it cannot delete the queue, purge the jobs, write records or pose as a coordinator; anonymous is refused', async () => {
    const nats = await startNatsServer({ config: readFileSync(CONFIG, 'utf8'), env });
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const coordinator = startCli(['coordinator', '--nats', nats.url, '--user', 'coordinator', '--password', env.COORDINATOR_PASSWORD, '--bind', endpoint, '--state-dir', join(tmp.dir, 'state'), '--no-progress']);
    const worker = startCli(['worker', '--connect', endpoint, '--serve', '--log-file', join(tmp.dir, 'worker.jsonl')]);
    try {
      await waitForOutput(coordinator.child, /workers join with/);
      const anonymous = await runCli(['jobs', '--nats', nats.url]);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toMatch(/refused the credentials|Authorization/i);
      const wrong = await runCli(['jobs', '--nats', nats.url, '--user', 'submitter', '--password', 'guess']);
      expect(wrong.code).not.toBe(0);

      const file = writeJob(tmp.dir, 'job.json', { name: 'users', seed: 1, data: { source: 'synthetic', kind: 'blobs', samples: 200, features: 2, classes: 2 }, model: { zoo: 'mlp', hidden: [4] }, train: { epochs: 1, batchSize: 20 }, cluster: { workers: 1, backend: 'cpu' } });
      const submitter = ['--nats', nats.url, '--user', 'submitter', '--password', env.SUBMITTER_PASSWORD];
      const sub = await runCli(['submit', file, '--id', 'users-1', '--wait', ...submitter]);
      expect(sub.code, sub.stderr).toBe(0);
      const status = await runCli(['status', 'users-1', '--json', ...submitter]);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ id: 'users-1', state: 'succeeded' });
      // A job that waits for a second worker, cancelled by the submitter.
      const waiting = writeJob(tmp.dir, 'waits.json', { ...JSON.parse(readFileSync(file, 'utf8')), name: 'waits', cluster: { workers: 2, backend: 'cpu' } });
      const queued = await runCli(['submit', waiting, '--id', 'users-2', ...submitter]);
      expect(queued.code, queued.stderr).toBe(0);
      const cancel = await runCli(['cancel', 'users-2', ...submitter]);
      expect(cancel.code, cancel.stderr).toBe(0);
      const after = await runCli(['status', 'users-2', '--json', ...submitter]);
      expect(JSON.parse(after.stdout)).toMatchObject({ id: 'users-2', state: 'cancelled' });

      // What the submitter may not do, straight through the NATS API.
      const nc = await connect({ servers: nats.url, user: 'submitter', pass: env.SUBMITTER_PASSWORD });
      try {
        const jsm = await jetstreamManager(nc);
        await expect(jsm.streams.delete(SUBMISSIONS_STREAM)).rejects.toThrow();
        await expect(jsm.streams.purge('KV_dtrain-jobs')).rejects.toThrow();
        await expect(jsm.streams.delete('KV_dtrain-jobs')).rejects.toThrow();
        const kv = await new Kvm(nc).open('dtrain-jobs');
        await expect(kv.put('users-1', '{"state":"queued"}')).rejects.toThrow();
        // Posing as a coordinator: the server refuses the subscription to the API.
        const pose = nc.subscribe('dtrain.api.submit');
        const refused = (async () => {
          for await (const _ of pose) return 'answered';
          return 'closed';
        })();
        await expect(withDeadline(refused, 5000, 'the refusal')).rejects.toThrow(/permissions violation/i);
      } finally {
        await nc.close();
      }
      // The queue and the record are still there for the coordinator user.
      const client = await DtrainClient.connect({ servers: nats.url, user: 'coordinator', password: env.COORDINATOR_PASSWORD });
      try {
        expect((await client.status('users-1')).state).toBe('succeeded');
        const jsm = await jetstreamManager(client.nc);
        expect((await jsm.streams.info(SUBMISSIONS_STREAM)).config.name).toBe(SUBMISSIONS_STREAM);
      } finally {
        await client.close();
      }
    } finally {
      await stopProcess(worker.child);
      await stopProcess(coordinator.child);
      await nats.stop();
    }
  });
});
