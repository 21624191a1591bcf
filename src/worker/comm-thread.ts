/**
 * The comm thread owns every socket of a worker: the DEALER to the
 * coordinator, the ring links or the ps shard connections. It answers heartbeats while the compute
 * thread is busy inside a long synchronous tfjs call, so a slow step is never
 * mistaken for a dead worker, and it runs collectives on the shared buffers.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { errorMessage } from '../util/errors.js';
import { epochNow } from '../observe/spans.js';
import { DropLog } from '../util/drop-log.js';
import { encode } from '../wire/codec.js';
import { parseMessage } from '../wire/messages.js';
import { ClosedError } from '../wire/transport.js';
import { bindPull, connectDealer, type RingPull } from '../wire/zmq-transport.js';
import { Sealer, workerId } from '../wire/frame-seal.js';
import { onRefused } from '../wire/zap.js';
import { CTL_DONE_SEQ, CTL_ENDED, SESSION_ENDS, type SessionEnd, type CollectiveReply, type CollectiveRequest, type CollectivesSetup, type CommConfig, type FromComm, type ToComm } from './comm-protocol.js';
import { repeatJoin } from '../wire/join.js';
import { makeReducer } from './reducers/make.js';
import { machineId } from './host-memory.js';
import type { GradientReducer } from './reducers/reducer.js';

if (!parentPort) throw new Error('comm-thread must run as a worker thread');
const toCompute = parentPort;
const post = (m: FromComm) => toCompute.postMessage(m);
const cfg = workerData as CommConfig;

/** How long the ring socket may take to be had again at its address (rebound with CURVE when the job encrypts). */
const REBIND_MS = 10_000;

let ring: RingPull = await bindPull(`tcp://${cfg.bindHost}:*`);
const advertised = ring.endpoint.replace(/^tcp:\/\/[^:]+:/, `tcp://${cfg.advertiseHost}:`);
const coordinator = connectDealer(cfg.connect, cfg.identity, cfg.key);
let reducer: GradientReducer | undefined;
let ctl: Int32Array | undefined;
let lastHeard = Date.now();
let watchdog: NodeJS.Timeout | undefined;
let ended = false;
/** Why the collectives were ended, when it was a failure found here (an unreachable ring neighbour). */
let failure: string | undefined;

/**
 * Ends the session: tells the compute thread why (in the shared control
 * slot too, which it reads when the collective it waits in fails), then
 * ends any collective in progress, since a peer may be gone and the
 * compute thread cannot read messages while it waits on the ring.
 */
function endSession(why: SessionEnd, message: string): void {
  if (ended) return;
  ended = true;
  clearInterval(joinTimer);
  clearInterval(giveUp);
  if (watchdog) clearInterval(watchdog);
  post({ kind: 'ended', why, message });
  if (ctl) {
    Atomics.store(ctl, CTL_ENDED, SESSION_ENDS.indexOf(why) + 1);
    Atomics.notify(ctl, CTL_DONE_SEQ);
  }
  reducer?.close();
}

const drops = new DropLog((fields, msg) => post({ kind: 'log', level: 'warn', msg, fields }));
const drop = (reason: string) => drops.drop(reason);
onRefused((fields, msg) => post({ kind: 'log', level: 'warn', msg, fields }));

async function coordinatorLoop(): Promise<void> {
  for (;;) {
    let frames;
    try {
      frames = await coordinator.receive();
    } catch (err) {
      if (err instanceof ClosedError) return;
      throw err;
    }
    lastHeard = Date.now();
    let message;
    try {
      message = parseMessage(frames);
    } catch (err) {
      drop(`from coordinator: ${errorMessage(err)}`);
      continue;
    }
    const h = message.header;
    if (h.type === 'start') {
      clearInterval(joinTimer);
      clearInterval(giveUp);
    }
    if (h.type === 'ping') await coordinator.send(encode({ type: 'pong', t: h.t }));
    else if (h.type === 'stop') endSession(h.rejoin ? 'rejoin' : 'stop', h.reason);
    else post({ kind: 'message', message });
  }
}

async function setup(m: CollectivesSetup): Promise<void> {
  const grads = new Float32Array(m.grads);
  const params = new Float32Array(m.params);
  const stats = new Float32Array(m.stats);
  ctl = new Int32Array(m.control);
  const unreachable = (message: string) => {
    failure = message;
    post({ kind: 'fatal', message });
    reducer?.close();
  };
  const encrypted = m.dataPlane.mode === 'encrypted';
  if (encrypted) {
    if (!cfg.key) throw new Error('the job encrypts its ring and ps traffic, and this worker has no cluster key (--key)');
    // ZeroMQ fixes a listener's security when it binds: the ring socket is bound again, at the same address, with CURVE.
    const at = ring.endpoint;
    ring.close();
    ring = await bindPull(at, cfg.key, REBIND_MS);
  }
  const sealer = m.dataPlane.mode === 'sealed' ? new Sealer(m.dataPlane.key, workerId(m.rank)) : undefined;
  const r = makeReducer(m.collective, {
    rank: m.rank,
    size: m.size,
    rule: m.rule,
    ringPull: ring,
    identity: cfg.identity,
    onDrop: drop,
    reachMs: m.heartbeatTimeoutMs,
    unreachable,
    ...(sealer ? { sealer } : {}),
    ...(encrypted ? { encryptKey: cfg.key } : {}),
  });
  reducer = r;
  const port: MessagePort = m.port;
  // Requests run one at a time, in order: the compute thread may start several sums without waiting (overlap with its backward pass).
  let queue = Promise.resolve();
  port.on('message', (req: CollectiveRequest) => {
    queue = queue.then(async () => {
      const reply: CollectiveReply = { seq: req.seq };
      const start = epochNow();
      r.firstReceivedAt = undefined;
      try {
        if (req.op === 'allReduce') await r.allReduce(req.length === undefined ? grads : grads.subarray(req.offset ?? 0, (req.offset ?? 0) + req.length), req.compress);
        else if (req.op === 'sumStats') await r.allReduce(stats.subarray(0, req.length));
        else if (req.op === 'update') await r.update(grads, params, req.args);
        else await r.refresh(params);
      } catch (err) {
        // A collective ended because the link failed reports why, not the closed socket it saw.
        reply.error = failure ?? errorMessage(err);
      }
      // heard: NaN where the strategy cannot tell when it first heard from a peer (ps): no wait is measured.
      reply.at = [start, r.firstReceivedAt === undefined ? NaN : Math.max(start, r.firstReceivedAt), epochNow()];
      reply.dropped = drops.total;
      port.postMessage(reply);
      Atomics.store(ctl!, CTL_DONE_SEQ, req.seq);
      Atomics.notify(ctl!, CTL_DONE_SEQ);
    });
  });
  // Once a job runs, a silent coordinator means it is gone (or cut off): end this session rather than linger.
  watchdog = setInterval(() => {
    if (Date.now() - lastHeard > m.heartbeatTimeoutMs) endSession('coordinatorLost', `no word from the coordinator for ${m.heartbeatTimeoutMs} ms`);
  }, 500);
}

toCompute.on('message', (m: ToComm) => {
  switch (m.kind) {
    case 'send':
      coordinator.send(m.frames).catch((err) => post({ kind: 'fatal', message: `send to coordinator failed: ${errorMessage(err)}` }));
      break;
    case 'setup':
      setup(m).catch((err: unknown) => post({ kind: 'fatal', message: `collectives setup failed: ${errorMessage(err)}` }));
      break;
    case 'shutdown':
      drops.close();
      clearInterval(joinTimer);
      clearInterval(giveUp);
      if (watchdog) clearInterval(watchdog);
      reducer?.close();
      ring.close();
      coordinator.close();
      toCompute.close();
      break;
  }
});

// Rejoining after the coordinator was lost: a coordinator that stays silent this long is not coming back.
// (A coordinator answers every join, so one that is there but waits for other members is not silent.)
const giveUp: NodeJS.Timeout | undefined =
  cfg.giveUpMs === undefined
    ? undefined
    : setInterval(() => {
        if (Date.now() - lastHeard <= cfg.giveUpMs!) return;
        clearInterval(giveUp);
        post({ kind: 'fatal', message: `no coordinator at ${cfg.connect} for ${Math.round(cfg.giveUpMs! / 1000)} s: giving up (--coordinator-timeout)` });
      }, 500);

const machine = machineId();
// The join is repeated until the job starts: a coordinator that was not there
// yet, was between two jobs (service mode) or restarted still hears it; it
// ignores a repeated join from a member.
const joinTimer: NodeJS.Timeout = repeatJoin(() => coordinator.send(encode({ type: 'join', role: 'worker', host: cfg.advertiseHost, pid: process.pid, endpoint: advertised, ...(machine ? { machine } : {}) })));
coordinatorLoop().catch((err) => post({ kind: 'fatal', message: `coordinator link failed: ${errorMessage(err)}` }));
