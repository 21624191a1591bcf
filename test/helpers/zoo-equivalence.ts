/**
 * The zoo models' equivalence check, shared by the recurrent and
 * transformer test files: for each model, 3 real `dtrain run` workers, 10
 * steps on Fashion-MNIST, against the single-process tfjs loop of
 * reference.ts, within TOLERANCE relative on each backend; and a companion
 * showing the comparison can fail (the reference without the model's
 * dropout, or without gradient clipping, differs).
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/jobs/registry.js';
import { FASHION_MNIST } from './cli.js';
import { dtrainRun, equivalenceRuns, TOLERANCE } from './dtrain-run.js';
import { flatWeights, referenceTrain, relativeDiff } from './reference.js';

export interface ZooCase {
  model: Record<string, unknown>;
  /** Backends the 3 workers run on. */
  backends: readonly string[];
  /** The optimizer (default Adam, lr 0.01). */
  optimizer?: Record<string, unknown>;
}

export function describeZooEquivalence(title: string, cases: Record<string, ZooCase>): void {
  const tmp = equivalenceRuns();
  describe.skipIf(!existsSync(FASHION_MNIST))(title, () => {
    for (const [name, { model, backends, optimizer }] of Object.entries(cases)) {
      describe(name, () => {
        const job = {
          name: `equiv-${name}`,
          seed: 4,
          data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: 600, testLimit: 100 },
          model,
          train: { maxSteps: 10, batchSize: 60, optimizer: optimizer ?? { name: 'adam', lr: 0.01 }, clipNorm: 0.5 },
          cluster: { backend: 'wasm', chunkBytes: 4096 },
        };
        const spec = parseJobSpec(job, `${name} job`);
        let reference: Float32Array;
        beforeAll(async () => {
          reference = flatWeights(await referenceTrain(spec));
        });

        for (const backend of backends) {
          it(`3 workers on ${backend}: weights within ${TOLERANCE} relative of one process`, async () => {
            const got = await dtrainRun(tmp.dir, { ...job, cluster: { ...job.cluster, backend } }, ['--workers', '3'], `${name}-${backend}`);
            expect(relativeDiff(got, reference)).toBeLessThanOrEqual(TOLERANCE);
          });
        }

        // (Adam makes clipping a small change for some models; dropout is not.)
        const without = (model.dropout ?? 0) !== 0 ? 'dropout' : 'gradient clipping';
        it(`the comparison can fail: without its ${without} the reference differs`, async () => {
          const other = flatWeights(await referenceTrain(spec, without === 'dropout' ? { noDropout: true } : { noClip: true }));
          expect(relativeDiff(other, reference)).toBeGreaterThan(100 * TOLERANCE);
        });
      });
    }
  });
}
