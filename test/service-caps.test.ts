/**
 * Per-job caps in service mode (real nats-server and processes): a job
 * whose networks, data or worker count are over the coordinator's caps is
 * refused before anything of it is built (`hidden: [30000, 30000]`, 900 M
 * parameters here, under the default caps), with code OVER_LIMIT and the key
 * named; the coordinator stays up and runs the next job. The caps are
 * counted, not guessed: unit checks of the weight count are in
 * test/weight-count.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DtrainClient, JobRefusedError } from '../src/client/index.js';
import { freePort, killStarted, runCli, startCli, stopProcess, tempDir, waitForOutput, writeJob } from './helpers/cli.js';
import { hasNatsServer, startNatsServer } from './helpers/nats-server.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const job = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  data: { source: 'synthetic', kind: 'blobs', samples: 200, features: 4, classes: 3 },
  model: { zoo: 'mlp', hidden: [8] },
  train: { epochs: 1, batchSize: 20 },
  cluster: { workers: 1, backend: 'cpu' },
  ...extra,
});

describe.skipIf(!hasNatsServer)('service-mode caps', () => {
  it('refuse a job over a cap before building it, name the key, and keep serving', async () => {
    const nats = await startNatsServer();
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const coordinator = startCli(['coordinator', '--nats', nats.url, '--bind', endpoint, '--state-dir', join(tmp.dir, 'state'), '--max-data-mb', '64', '--data-root', tmp.dir, '--no-progress']);
    const worker = startCli(['worker', '--connect', endpoint, '--serve', '--log-file', join(tmp.dir, 'w.jsonl')]);
    const client = await (async () => {
      await waitForOutput(coordinator.child, /workers join with/);
      return DtrainClient.connect({ servers: nats.url });
    })();
    try {
      const refused = async (spec: Record<string, unknown>) => {
        const err = await client.submit(spec).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(JobRefusedError);
        return err as JobRefusedError;
      };
      const t0 = Date.now();
      const huge = await refused(job('huge', { model: { zoo: 'mlp', hidden: [30000, 30000] } }));
      const hugeMs = Date.now() - t0;
      expect(huge.code).toBe('OVER_LIMIT');
      // 4·30000 + 30000 + 30000·30000 + 30000 + 30000·3 + 3
      expect(huge.issues).toEqual([{ key: 'model', message: "900,270,003 parameters: more than this coordinator's cap of 100,000,000 (--max-params)" }]);
      const data = await refused(job('much-data', { data: { source: 'synthetic', kind: 'blobs', samples: 10_000_000, features: 4, classes: 3 } }));
      expect(data.issues.map((i) => i.key)).toEqual(['data']);
      expect(data.message).toMatch(/MB of data once loaded: more than this coordinator's cap of 64 MB \(--max-data-mb\)/);
      const crowd = await refused(job('crowd', { train: { epochs: 1, batchSize: 200 }, cluster: { workers: 100, backend: 'cpu' } }));
      expect(crowd.issues).toEqual([{ key: 'cluster.workers', message: "100 workers: more than this coordinator's cap of 64 (--max-workers)" }]);
      console.log(`caps: a 900 M-parameter job refused in ${hugeMs} ms`);
      // Data that cannot be read, and a model that does not fit the data, are answered as bad jobs (before, the
      // submission was left unacknowledged and came back every minute, unanswered).
      writeFileSync(join(tmp.dir, 'bad.csv'), 'a,b,label\n1,2,x\n3,oops,y\n');
      const badData = await refused(job('bad-data', { data: { source: 'csv', path: join(tmp.dir, 'bad.csv'), label: 'label' } }));
      expect(badData.code).toBe('JOB_SPEC');
      expect(badData.issues).toEqual([{ key: 'data', message: expect.stringMatching(/bad\.csv: line 3: column "b" is "oops", not a number/) }]);
      const wrongModel = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { units: 7, batch_input_shape: [null, 4] } }] } };
      const badModel = await refused(job('bad-model', { model: { topology: wrongModel } }));
      expect(badModel.issues).toEqual([{ key: 'model.topology', message: expect.stringMatching(/output shape \[7\] does not fit 3 classes/) }]);

      // Still serving: the next job runs.
      const file = writeJob(tmp.dir, 'ok.json', job('fits'));
      const ok = await runCli(['submit', file, '--wait', '--nats', nats.url]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(coordinator.child.exitCode).toBeNull();
      // The CLI says the same, exit 2.
      const cli = await runCli(['submit', writeJob(tmp.dir, 'huge.json', job('huge2', { model: { zoo: 'mlp', hidden: [30000, 30000] } })), '--nats', nats.url]);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toMatch(/model: 900,270,003 parameters: more than this coordinator's cap/);
    } finally {
      await client.close();
      await stopProcess(worker.child);
      await stopProcess(coordinator.child);
      await nats.stop();
    }
  });
});
