/**
 * N workers equal one process for the recurrent zoo (rnn, lstm, gru):
 * 3 real `dtrain run` workers, 10 steps on Fashion-MNIST read as 28 rows,
 * against the single-process tfjs loop of test/helpers/reference.ts, within
 * 1e-5 relative, on wasm (the default backend) and on cpu. The comparison
 * can fail: the same reference without its dropout (lstm) or its gradient
 * clipping (gru, rnn) differs.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../src/jobs/registry.js';
import { FASHION_MNIST } from './helpers/cli.js';
import { dtrainRun, equivalenceRuns, TOLERANCE } from './helpers/dtrain-run.js';
import { flatWeights, referenceTrain, relativeDiff } from './helpers/reference.js';

const tmp = equivalenceRuns();

const models = {
  lstm: { zoo: 'lstm', units: 12, layers: 2, bidirectional: true, dropout: 0.2 },
  gru: { zoo: 'gru', units: 16 },
  rnn: { zoo: 'rnn', units: 16, dense: [8] },
} as const;

describe.skipIf(!existsSync(FASHION_MNIST))('N workers equal one process: recurrent models on Fashion-MNIST rows', () => {
  for (const [name, model] of Object.entries(models)) {
    describe(name, () => {
      const job = {
        name: `equiv-${name}`,
        seed: 4,
        data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 600, testLimit: 100 },
        model,
        train: { maxSteps: 10, batchSize: 60, optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 0.5 },
        cluster: { backend: 'wasm', chunkBytes: 4096 },
      };
      const spec = parseJobSpec(job, `${name} job`);
      let reference: Float32Array;
      beforeAll(async () => {
        reference = flatWeights(await referenceTrain(spec));
      });

      for (const backend of ['wasm', 'cpu']) {
        it(`3 workers on ${backend}: weights within ${TOLERANCE} relative of one process`, async () => {
          const got = await dtrainRun(tmp.dir, { ...job, cluster: { ...job.cluster, backend } }, ['--workers', '3'], `${name}-${backend}`);
          expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
        });
      }

      // (Adam makes clipping a small change for the lstm; its dropout is not.)
      const without = 'dropout' in model ? 'dropout' : 'gradient clipping';
      it(`the comparison can fail: without its ${without} the reference differs`, async () => {
        const other = flatWeights(await referenceTrain(spec, without === 'dropout' ? { noDropout: true } : { noClip: true }));
        expect(relativeDiff(other, reference)).toBeGreaterThan(100 * TOLERANCE);
      });
    });
  }
});
