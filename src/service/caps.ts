/**
 * Per-job caps in service mode (--max-params, --max-data-mb, --max-workers):
 * checked on a submission before anything of it is built, so that one
 * tenant's job cannot take the coordinator, and every other job, down with
 * it. A job over a cap is refused (code OVER_LIMIT) naming the key and the cap.
 */
import { dataBytes } from '../data/size.js';
import { jobWeights } from '../jobs/registry.js';
import type { JobSpec } from '../spec/job-spec.js';
import { psSettings } from '../spec/job-spec.js';
import type { Issue } from './protocol.js';

export interface ServiceCaps {
  maxParams: number;
  maxDataMb: number;
  maxWorkers: number;
}

export const DEFAULT_CAPS: ServiceCaps = { maxParams: 100_000_000, maxDataMb: 4096, maxWorkers: 64 };
export const OVER_LIMIT = 'OVER_LIMIT';

const MB = 1024 * 1024;

/** The caps `spec` exceeds (none: it may run). Workers and data first: the weights are counted only for a job within them. */
export async function overCaps(spec: JobSpec, caps: ServiceCaps): Promise<Issue[]> {
  const issues: Issue[] = [];
  const { workers, maxWorkers } = spec.cluster;
  const most = Math.max(workers, maxWorkers ?? workers);
  if (most > caps.maxWorkers) issues.push({ key: maxWorkers !== undefined && maxWorkers > workers ? 'cluster.maxWorkers' : 'cluster.workers', message: `${most} workers: more than this coordinator's cap of ${caps.maxWorkers} (--max-workers)` });
  const shards = psSettings(spec.cluster)?.shards ?? 0;
  if (shards > caps.maxWorkers) issues.push({ key: 'cluster.ps.shards', message: `${shards} shards: more than this coordinator's cap of ${caps.maxWorkers} (--max-workers)` });
  const bytes = dataBytes(spec.data);
  if (bytes > caps.maxDataMb * MB) issues.push({ key: 'data', message: `${(bytes / MB).toFixed(0)} MB of data once loaded: more than this coordinator's cap of ${caps.maxDataMb} MB (--max-data-mb)` });
  if (issues.length > 0) return issues;
  const weights = await jobWeights(spec);
  if (weights > caps.maxParams) issues.push({ key: 'model', message: `${weights.toLocaleString('en-US')} parameters: more than this coordinator's cap of ${caps.maxParams.toLocaleString('en-US')} (--max-params)` });
  return issues;
}
