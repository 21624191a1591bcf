/**
 * N workers equal one process for the transformer zoo: a ViT with dropout
 * (patches, learned positions) and a causal transformer reading
 * Fashion-MNIST rows (sin/cos positions); 3 real `dtrain run` workers, 10
 * steps, against the single-process tfjs loop, within 1e-5 relative, on
 * wasm (the default backend) and cpu. The comparison can fail: the ViT's
 * reference without its dropout, the transformer's without gradient
 * clipping, differ.
 *
 * The ViT trains with momentum: with Adam, a patch-projection weight of a
 * pixel that is background in almost every image has a gradient near
 * Adam's epsilon, where the update g/(√v + ε) turns rounding (one process's
 * mean loss against the workers' summed shards) into 8e-6 of difference
 * after one step and 2e-3 after ten — between one worker and the
 * single-process loop alike, while 1 and 3 workers agree within 6e-7.
 */
import { describeZooEquivalence } from './helpers/zoo-equivalence.js';

describeZooEquivalence('N workers equal one process: transformers on Fashion-MNIST', {
  vit: { model: { zoo: 'vit', patch: 7, dModel: 16, heads: 2, layers: 2, ff: 32, dropout: 0.2 }, backends: ['wasm', 'cpu'], optimizer: { name: 'momentum', lr: 0.05 } },
  transformer: { model: { zoo: 'transformer', causal: true, dModel: 16, heads: 4, layers: 1, ff: 32 }, backends: ['wasm', 'cpu'] },
});
