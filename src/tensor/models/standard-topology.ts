/**
 * A saved topology that plain tfjs loads: dtrain's own layers are recorded
 * as the standard layers they compute at inference (tf.loadLayersModel knows
 * nothing of them). Their weights keep the standard names and order.
 */
import { SeededDropout } from '../layers/seeded-dropout.js';
import { SyncBatchNormalization } from '../layers/sync-batch-norm.js';

type Config = Record<string, unknown>;

const without = (config: Config, key: string): Config => Object.fromEntries(Object.entries(config).filter(([k]) => k !== key));

const STANDARD: Record<string, { className: string; config: (c: Config) => Config }> = {
  [SeededDropout.className]: { className: 'Dropout', config: (c) => without(c, 'salt') },
  [SyncBatchNormalization.className]: { className: 'BatchNormalization', config: (c) => ({ ...without(c, 'sync'), axis: -1, center: true, scale: true }) },
};

export function standardizeTopology(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(standardizeTopology);
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Config;
  const std = typeof obj.class_name === 'string' ? STANDARD[obj.class_name] : undefined;
  if (std) return { ...obj, class_name: std.className, config: std.config(obj.config as Config) };
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, standardizeTopology(v)]));
}
