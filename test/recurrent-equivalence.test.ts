/**
 * N workers equal one process for the recurrent zoo (rnn, lstm, gru):
 * 3 real `dtrain run` workers, 10 steps on Fashion-MNIST read as 28 rows,
 * against the single-process tfjs loop of test/helpers/reference.ts, within
 * 1e-5 relative, on wasm (the default backend) and on cpu. The comparison
 * can fail: the same reference without its dropout (lstm) or its gradient
 * clipping (gru, rnn) differs.
 */
import { describeZooEquivalence } from './helpers/zoo-equivalence.js';

const both = ['wasm', 'cpu'] as const;

describeZooEquivalence('N workers equal one process: recurrent models on Fashion-MNIST rows', {
  lstm: { model: { zoo: 'lstm', units: 12, layers: 2, bidirectional: true, dropout: 0.2 }, backends: both },
  gru: { model: { zoo: 'gru', units: 16 }, backends: both },
  rnn: { model: { zoo: 'rnn', units: 16, dense: [8] }, backends: both },
});
