/** The one place the strategy is chosen: a reducer from the coordinator's collective setup. */
import { shardPeerId } from '../../ps/peer-id.js';
import type { ClusterKey } from '../../wire/cluster-key.js';
import { sealedChannel, shardId, workerId, type Sealer } from '../../wire/frame-seal.js';
import type { CollectiveSetup } from '../../wire/messages.js';
import type { Channel } from '../../wire/transport.js';
import { connectDealer, ringLink, type RingPull } from '../../wire/zmq-transport.js';
import { PsReducer } from './ps.js';
import type { DropHandler, GradientReducer, UpdateRule } from './reducer.js';
import { RingReducer } from './ring.js';

export interface ReducerContext {
  rank: number;
  size: number;
  rule: UpdateRule;
  /** This worker's ring socket (bound at start, advertised when joining). */
  ringPull: RingPull;
  /** Data plane: sealed (every message tagged with the session's key), or encrypted with the cluster key; neither: in clear. */
  sealer?: Sealer;
  encryptKey?: ClusterKey;
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
      // Workers on one machine sum through shared memory on their compute threads (worker/host-sum.ts): no ring link is made.
      if (setup.host) return sumsOnComputeThread;
      const right = (c.rank + 1) % c.size;
      const unreachable = () =>
        c.unreachable(`worker #${c.rank} cannot reach its ring neighbour worker #${right} at ${setup.right}, the address that worker advertised, within ${c.reachMs} ms: start it with an --advertise address the other hosts can reach`);
      const plain = ringLink(c.ringPull, setup.right, c.size > 1 ? { ms: c.reachMs, unreachable } : undefined, c.encryptKey);
      const link = sealed(c, plain, workerId(right), workerId((c.rank - 1 + c.size) % c.size));
      return new RingReducer({ rank: c.rank, size: c.size, link, chunkBytes: setup.chunkBytes, rule: c.rule, onDrop: c.onDrop, compression: setup.compression });
    }
    case 'ps':
      return new PsReducer({
        rank: c.rank,
        shards: setup.shards.map((s, k) => ({ channel: sealed(c, connectDealer(s.endpoint, shardPeerId(c.identity, c.rank), c.encryptKey), shardId(k), shardId(k)), offset: s.offset, length: s.length })),
        clipNorm: c.rule.clipNorm,
        staleness: setup.staleness,
        onDrop: c.onDrop,
      });
  }
}

const onComputeThread = () => Promise.reject(new Error('this session sums through shared memory on the compute thread, not through the comm thread'));
const sumsOnComputeThread: GradientReducer = { allReduce: onComputeThread, update: onComputeThread, refresh: async () => undefined, close: () => undefined };

function sealed(c: ReducerContext, channel: Channel, to: number, from: number): Channel {
  return c.sealer ? sealedChannel(channel, c.sealer, { to, from }, c.onDrop) : channel;
}
