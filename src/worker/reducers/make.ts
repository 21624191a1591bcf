/** The one place the strategy is chosen: a reducer from the coordinator's collective setup. */
import type { Pull } from 'zeromq';
import type { CollectiveSetup } from '../../wire/messages.js';
import { connectDealer, ringLink } from '../../wire/zmq-transport.js';
import { PsReducer } from './ps.js';
import type { DropHandler, GradientReducer, UpdateRule } from './reducer.js';
import { RingReducer } from './ring.js';

export interface ReducerContext {
  rank: number;
  size: number;
  rule: UpdateRule;
  /** This worker's ring socket (bound at start, advertised when joining). */
  ringPull: Pull;
  /** Prefix of the socket identities this worker presents to ps shards. */
  identity: string;
  onDrop: DropHandler;
  /** Called when the right ring neighbour cannot be reached within `reachMs` (its advertised address is unusable from here). */
  reachMs: number;
  unreachable: (message: string) => void;
}

/**
 * Whether a strategy's update is "sum, then the same optimizer step on every
 * replica" (the ring). The worker then sums through the comm thread and runs
 * the optimizer on its compute thread, as RingReducer.update would: the two
 * thread hops an update through the comm thread costs measured 0.5 ms a
 * step (a sleeping thread's wake-up on this VM), 5–10% of an MLP step.
 */
export function updatesLocally(setup: CollectiveSetup): boolean {
  return setup.strategy === 'ring';
}

export function makeReducer(setup: CollectiveSetup, c: ReducerContext): GradientReducer {
  switch (setup.strategy) {
    case 'ring': {
      const right = (c.rank + 1) % c.size;
      const unreachable = () =>
        c.unreachable(`worker #${c.rank} cannot reach its ring neighbour worker #${right} at ${setup.right}, the address that worker advertised, within ${c.reachMs} ms: start it with an --advertise address the other hosts can reach`);
      const link = ringLink(c.ringPull, setup.right, c.size > 1 ? { ms: c.reachMs, unreachable } : undefined);
      return new RingReducer({ rank: c.rank, size: c.size, link, chunkBytes: setup.chunkBytes, rule: c.rule, onDrop: c.onDrop });
    }
    case 'ps':
      return new PsReducer({
        rank: c.rank,
        shards: setup.shards.map((s) => ({ channel: connectDealer(s.endpoint, `${c.identity}:rank${c.rank}`), offset: s.offset, length: s.length })),
        clipNorm: c.rule.clipNorm,
        staleness: setup.staleness,
        onDrop: c.onDrop,
      });
  }
}
