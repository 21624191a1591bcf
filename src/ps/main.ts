/**
 * A parameter-server shard process: binds its server socket, joins the
 * coordinator as role `ps`, is given its slice, its optimizer and the
 * initial values (`psStart`), then serves the workers until `stop`. It
 * answers heartbeats between requests (a request is one pass over the slice),
 * and stops by itself if the coordinator falls silent.
 */
import { hostname } from 'node:os';
import { errorMessage, UsageError } from '../util/errors.js';
import { optimizerSchema } from '../spec/job-spec.js';
import { DropLog } from '../util/drop-log.js';
import type { Logger } from '../util/log.js';
import { encode } from '../wire/codec.js';
import { parseMessage, type Header, type Message } from '../wire/messages.js';
import { ClosedError, type Hub } from '../wire/transport.js';
import { repeatJoin, runSessions, type Rejoin } from '../wire/join.js';
import { bindRouter, connectDealer, FRAME_SLACK } from '../wire/zmq-transport.js';
import type { ClusterKey } from '../wire/cluster-key.js';
import { sealedHub, Sealer, shardId } from '../wire/frame-seal.js';
import { onRefused } from '../wire/zap.js';

/** How long the server socket may take to be had again at its address (rebound at psStart). */
const REBIND_MS = 10_000;
import { packStates, unpackStates } from '../tensor/optimizers/index.js';
import { PsShard } from './shard.js';

export interface PsOptions {
  connect: string;
  /** Where the server socket listens, tcp://HOST:PORT (PORT may be *). */
  bind: string;
  /** Host name workers use to reach the server socket. */
  advertiseHost: string;
  log: Logger;
  /** As a worker's (WorkerOptions.coordinatorTimeoutMs): after a session that ended without a failure of ours, join again and wait this long; 0: end. */
  coordinatorTimeoutMs: number;
  /** The cluster key (none: plain TCP, loopback or --insecure). */
  key?: ClusterKey;
}

/** Runs sessions until one ends with a final stop (0) or a failure (1). */
export function runPs(o: PsOptions): Promise<number> {
  return runSessions('ps shard', o.log, o.coordinatorTimeoutMs, (n) => runSession(o, n));
}

/** One session: a fresh server socket joins the coordinator as a shard and serves the job it is given. */
async function runSession(o: PsOptions, n: number): Promise<number | Rejoin> {
  let server: Hub;
  try {
    // Nothing legitimate reaches the server socket before the job starts: workers learn of it only then.
    server = await bindRouter(o.bind, 0, FRAME_SLACK);
  } catch (err) {
    throw new UsageError(`cannot listen on ${o.bind}: ${errorMessage(err)}`, { cause: err });
  }
  const endpoint = server.endpoint.replace(/^tcp:\/\/[^:]+:/, `tcp://${o.advertiseHost}:`);
  const coordinator = connectDealer(o.connect, `${hostname()}:${process.pid}:ps${n > 0 ? `:${n}` : ''}`, o.key);
  const send = (h: Header) => coordinator.send(encode(h));
  let shard: PsShard | undefined;
  let lastHeard = Date.now();
  // Until the job starts: wait for ever for a first coordinator, this long for one that was lost.
  let timeoutMs = n > 0 ? o.coordinatorTimeoutMs : Infinity;
  let lost = false;
  // The watchdog or a broken serving loop ends the process through the main loop's race.
  let fail: (err: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (fail = reject));
  failure.catch(() => undefined); // also rejects after the loop has ended: not unhandled
  const watchdog = setInterval(() => {
    if (Date.now() - lastHeard <= timeoutMs) return;
    lost = shard !== undefined;
    fail(new Error(shard ? `no word from the coordinator for ${timeoutMs} ms` : `no coordinator at ${o.connect} for ${Math.round(timeoutMs / 1000)} s: giving up (--coordinator-timeout)`));
  }, 500);
  const drops = new DropLog((fields, msg) => o.log.warn(fields, msg));
  onRefused((fields, msg) => o.log.warn(fields, msg));
  const drop = (reason: string) => drops.drop(reason);
  o.log.info({ connect: o.connect, endpoint }, n === 0 ? 'ps shard started' : 'joining again');
  // Repeated until the job starts (see transport/join.ts).
  const joinTimer = repeatJoin(() => send({ type: 'join', role: 'ps', host: o.advertiseHost, pid: process.pid, endpoint }));
  try {
    for (;;) {
      let frames;
      try {
        frames = await Promise.race([coordinator.receive(), failure]);
      } catch (err) {
        if (err instanceof ClosedError) return 0;
        throw err;
      }
      lastHeard = Date.now();
      let m: Message;
      try {
        m = parseMessage(frames);
      } catch (err) {
        drop(`from coordinator: ${errorMessage(err)}`);
        continue;
      }
      const h = m.header;
      if (h.type === 'psStart' || h.type === 'stop') clearInterval(joinTimer);
      if (h.type === 'ping') await send({ type: 'pong', t: h.t });
      else if (h.type === 'stop') {
        if (h.rejoin) return { why: 'rejoin', message: h.reason };
        o.log.info({ reason: h.reason, applied: shard?.applied ?? 0 }, 'stopping');
        return 0;
      } else if (h.type === 'psFetch') {
        if (!shard) throw new Error('psFetch arrived before psStart');
        const states = packStates([shard.optimizerState()]);
        await coordinator.send(encode({ type: 'psState', index: shard.index, optimizerState: states.meta[0] }, [shard.params.slice(), states.data]));
      } else if (h.type === 'psStart') {
        if (shard) throw new Error('psStart arrived twice');
        // The workers, who connect once told of it, send one slice at a time: a larger frame drops its sender unread.
        // ZeroMQ fixes a listener's limit (and security) when it binds, so the socket is bound again, at the same address,
        // with the slice's limit, and CURVE when the job encrypts.
        const plane = h.dataPlane;
        if (plane.mode === 'encrypted' && !o.key) throw new Error('the job encrypts its ring and ps traffic, and this shard has no cluster key (--key)');
        const at = server.endpoint;
        server.close();
        server = await bindRouter(at, REBIND_MS, h.length * 4 + FRAME_SLACK, plane.mode === 'encrypted' ? o.key : undefined);
        shard = start(m as Message<'psStart'>, plane.mode === 'sealed' ? sealedHub(server, new Sealer(plane.key, shardId(h.index)), drop) : server, drop);
        shard.serve().catch((err: unknown) => fail(new Error(`serving failed: ${errorMessage(err)}`)));
        timeoutMs = h.heartbeatTimeoutMs;
        o.log.info({ index: h.index, offset: h.offset, length: h.length, workers: h.workers, mode: h.staleness === undefined ? 'synchronous' : `staleness ${h.staleness}` }, 'serving');
        await send({ type: 'psReady', index: h.index });
      } else {
        drop(`from coordinator: ${h.type} is not meant for a ps shard`);
      }
    }
  } catch (err) {
    if (lost) return { why: 'coordinatorLost', message: errorMessage(err) };
    o.log.error({ err: errorMessage(err) }, 'ps shard failed');
    await send({ type: 'failed', message: errorMessage(err) }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200)); // let the report leave
    return 1;
  } finally {
    clearInterval(joinTimer);
    clearInterval(watchdog);
    drops.close();
    shard?.close();
    server.close();
    coordinator.close();
  }
}

function start(m: Message<'psStart'>, server: Hub, drop: (r: string) => void): PsShard {
  const h = m.header;
  const initial = m.tensors[0];
  if (!(initial instanceof Float32Array) || initial.length !== h.length) throw new Error(`psStart: expected ${h.length} float32 initial values`);
  const optimizer = optimizerSchema.parse(h.optimizer);
  const [optimizerState] = unpackStates({ meta: [h.optimizerState], data: m.tensors[1] as Float32Array });
  return new PsShard(server, { index: h.index, workers: h.workers, optimizer, clipNorm: h.clipNorm, staleness: h.staleness, initial, ...(optimizerState ? { optimizerState } : {}), ...(h.peers ? { peers: h.peers } : {}) }, drop);
}
