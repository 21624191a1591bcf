/**
 * A worker process: the compute thread (this one: tfjs, model, optimizer,
 * data) and a comm thread that owns the sockets. It joins a coordinator,
 * builds the job it is given, then answers step, eval and fetchParams
 * commands until told to stop.
 */
import { hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { initBackend, type BackendChoice } from '../tensor/backend.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { stateLength, writeState } from '../tensor/flat.js';
import { attachStatsSum, statsSumLength } from '../tensor/layers/sync-batch-norm.js';
import { encode, type TypedArray } from '../wire/codec.js';
import type { Message } from '../wire/messages.js';
import { packStates, unpackStates, type PackedStates } from '../tensor/optimizers/index.js';
import { CTL_ENDED, CTL_INTS, SESSION_ENDS, type CommConfig, type FromComm, type SessionEnd, type ToComm } from './comm-protocol.js';
import { Collectives } from './collectives.js';
import { hostMemory, hostMemoryMissing } from './host-memory.js';
import { HOST_SLOT_FLOATS, HostSum, ownedRange, PeerFailedError } from './host-sum.js';
import { LocalUpdate } from './reducers/local-update.js';
import { updatesLocally } from './reducers/make.js';
import { jobTypeOf, parseJobSpec } from '../jobs/registry.js';
import type { StepProgram } from './step-program.js';
import { runSessions, type Rejoin } from '../wire/join.js';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ClusterKey } from '../wire/cluster-key.js';
import { SpanBuffer, type FlatSpans } from '../observe/spans.js';

export interface WorkerOptions {
  connect: string;
  bindHost: string;
  advertiseHost: string;
  log: Logger;
  /**
   * After a session that ended without a failure of ours (told to rejoin: a
   * member was lost; or the coordinator fell silent), join again and wait
   * this long for a coordinator before giving up. 0: end with the session
   * (a worker of `dtrain run`, whose coordinator is its parent).
   */
  coordinatorTimeoutMs: number;
  /** The cluster key (none: plain TCP, loopback or --insecure). */
  key?: ClusterKey;
  /** This worker's GPU index (--gpu): its webgpu adapter. */
  gpu?: number;
}

/** Runs sessions until one ends with a final stop (0) or a failure (1). */
export function runWorker(o: WorkerOptions): Promise<number> {
  return runSessions('worker', o.log, o.coordinatorTimeoutMs, (n) => runSession(o, n));
}

/**
 * One session: a comm thread (fresh sockets, a fresh identity) joins the
 * coordinator, the job it is given is built and run. Returns an exit code,
 * or why the session ended when the worker should join again.
 */
async function runSession(o: WorkerOptions, n: number): Promise<number | Rejoin> {
  const identity = `${hostname()}:${process.pid}${n > 0 ? `:${n}` : ''}`;
  const cfg: CommConfig = { connect: o.connect, bindHost: o.bindHost, advertiseHost: o.advertiseHost, identity, ...(n > 0 ? { giveUpMs: o.coordinatorTimeoutMs } : {}), ...(o.key ? { key: o.key } : {}) };
  const comm = new Worker(new URL('./comm-thread.js', import.meta.url), { workerData: cfg });
  const inbox = new Inbox();
  comm.on('message', (m: FromComm) => {
    if (m.kind === 'log') o.log[m.level](m.fields ?? {}, m.msg);
    else inbox.push(m);
  });
  comm.on('error', (err) => inbox.push({ kind: 'fatal', message: `comm thread crashed: ${errorMessage(err)}` }));
  const toComm = (m: ToComm, transfer: MessagePort[] = []) => comm.postMessage(m, transfer);
  const send = (header: Record<string, unknown>, tensors: TypedArray[] = []) => toComm({ kind: 'send', frames: encode(header, tensors) });
  o.log.info({ connect: o.connect, identity }, n === 0 ? 'worker started' : 'joining again');

  let built: Built | undefined;
  let program: StepProgram | undefined;
  let collectives: Collectives | undefined;
  let rank = -1;
  const ended = (why: SessionEnd, message: string) => {
    if (why !== 'stop') return { why, message };
    o.log.info({ reason: message }, 'stopping');
    return 0;
  };
  try {
    for (;;) {
      const m = await inbox.next();
      if (m.kind === 'fatal') throw new Error(m.message);
      if (m.kind === 'ended') return ended(m.why, m.message);
      const h = m.message.header;
      if (h.type === 'start') {
        built = await buildProgram(m.message as Message<'start'>, toComm, o.log, o.gpu);
        program = built.program;
        collectives = built.collectives;
        rank = h.rank;
        send({ type: 'ready', rank: h.rank, backend: built.backend.name, backendReason: built.backend.reason, ...(built.backend.adapter ? { adapter: built.backend.adapter } : {}), paramCount: program.paramCount });
      } else if (h.type === 'step') {
        need(collectives).takeTimes(); // the sums of evaluations and checkpoints since the last step are not this step's
        const r = await need(program).train({ step: h.step, epoch: h.epoch, lr: h.lr, globalBatch: h.globalBatch, indices: m.message.tensors[0] as Int32Array, offset: h.offset });
        if (!r.skipped) requireFinite(r, `step ${h.step}`, h.lr);
        const c = need(collectives);
        send({ type: 'stepDone', step: h.step, ...r, ...c.takeTimes(), dropped: c.dropped, ...spansOf(need(built)) });
      } else if (h.type === 'eval') {
        const t = performance.now();
        await need(collectives).refresh();
        await need(program).agreeState();
        const e = await need(program).evaluate(m.message.tensors[0] as Int32Array, { clean: h.clean, ...(h.split ? { split: h.split } : {}) });
        requireFinite(e, 'the evaluation');
        need(built).spans?.add('evaluation', t);
        send({ type: 'evalDone', id: h.id, ...e, paramsCrc: paramsCrc(need(program)), ...spansOf(need(built)) });
      } else if (h.type === 'agree') {
        await need(collectives).refresh();
        send({ type: 'agreed', paramsCrc: paramsCrc(need(program)) });
      } else if (h.type === 'fetchParams') {
        const t = performance.now();
        if (h.refresh) await need(collectives).refresh();
        const states = packStates(need(built).optimizers.map((u) => u.stateDict()));
        send({ type: 'params', rank, optimizers: states.meta }, [need(program).params(), need(program).state(), states.data]);
        need(built).spans?.add('checkpoint', t);
      } else {
        o.log.warn({ type: h.type }, 'ignored a message not meant for a worker');
      }
    }
  } catch (err) {
    // A collective the comm thread ended because the session ended is not a failure.
    const end = built ? Atomics.load(built.ctl, CTL_ENDED) : 0;
    if (end > 0) return ended(SESSION_ENDS[end - 1], `the session ended (${errorMessage(err)})`);
    // A peer's failure stopped a shared-memory sum: that peer reports its failure, the job's cause; a
    // report from here could reach the coordinator first and name the wrong one. Wait for the session's end.
    if (err instanceof PeerFailedError) {
      o.log.info({ err: errorMessage(err) }, 'waiting for the session to end');
      const end = await sessionEnd(inbox, PEER_FAILURE_GRACE_MS);
      if (end) return ended(end.why, end.message);
    }
    o.log.error({ err: errorMessage(err) }, 'worker failed');
    built?.host?.fail(); // peers waiting in a shared-memory sum fail now, not when the coordinator has heard
    send({ type: 'failed', message: errorMessage(err) });
    await new Promise((r) => setTimeout(r, 200)); // let the comm thread flush the report
    return 1;
  } finally {
    built?.host?.close();
    toComm({ kind: 'shutdown' });
    await new Promise((r) => setTimeout(r, 50));
    await comm.terminate();
    for (const model of built?.models ?? []) model.dispose();
  }
}

/**
 * A loss or metric that is NaN or ±Infinity means training diverged: the
 * job fails here, saying so (a message carrying NaN would otherwise be
 * dropped as malformed, and the coordinator would wait for it for ever).
 */
function requireFinite(r: { lossSum: number; counts: Record<string, number> }, when: string, lr?: number): void {
  const bad = Object.entries({ loss: r.lossSum, ...r.counts }).find(([, v]) => !Number.isFinite(v));
  if (!bad) return;
  const rate = lr === undefined ? '' : ` (now ${lr})`;
  throw new Error(`${when}: the ${bad[0] === 'loss' ? 'loss' : `metric ${bad[0]}`} is ${bad[1]}: training diverged. Lower train.optimizer.lr${rate}, or set train.clipNorm; dtrain run --resume DIR goes on from the latest checkpoint with --set train.optimizer.lr=…`);
}

/** CRC-32 of the flat parameters' bytes: replicas that agree have the same. */
function paramsCrc(program: StepProgram): number {
  const p = program.params();
  return crc32(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
}

function need<T>(p: T | undefined): T {
  if (!p) throw new Error('a command arrived before the job was started');
  return p;
}

interface Built {
  program: StepProgram;
  collectives: Collectives;
  backend: BackendChoice;
  /** Every optimizer this worker applies, in checkpoint order: the local update's (ring), then the program's own. */
  optimizers: LocalUpdate[];
  /** The job's networks (disposed when the session ends). */
  models: LayersModel[];
  /** The session's shared-memory sum (every worker on one machine), closed with the session. */
  host?: HostSum;
  /** The control slots shared with the comm thread (CTL_ENDED says why a session ended). */
  ctl: Int32Array;
  /** The timeline since the last report (train.trace), sent with the next stepDone or evalDone. */
  spans?: SpanBuffer;
}

/** A report's `spans` field: the timeline since the last report, when the job keeps one (and how many spans it left out). */
function spansOf(b: Built): { spans?: FlatSpans; spansDropped?: number } {
  return b.spans ? b.spans.take() : {};
}

async function buildProgram(m: Message<'start'>, toComm: (m: ToComm, t?: MessagePort[]) => void, log: Logger, gpu: number | undefined): Promise<Built> {
  const h = m.header;
  const spec = parseJobSpec(h.job, `job ${String(h.job.name)}`);
  const backend = await initBackend(spec.cluster.backend, gpu === undefined ? {} : { gpu });
  const job = await jobTypeOf(spec).buildWorker(spec);
  const { models, rule } = job;
  log.info({ backend: backend.name, reason: backend.reason, ...(backend.adapter ? { adapter: backend.adapter } : {}), ...(gpu === undefined ? {} : { gpu, cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES }), rank: h.rank, size: h.size }, 'job started');
  const initial = m.tensors[0] as Float32Array;
  const grads = new SharedArrayBuffer(initial.length * 4);
  const params = new SharedArrayBuffer(initial.length * 4);
  const scratch = Math.max(...models.map(statsSumLength), stateLength(models), 1);
  const stats = new SharedArrayBuffer(scratch * 4);
  const control = new SharedArrayBuffer(CTL_INTS * 4);
  new Float32Array(params).set(initial);
  const { port1, port2 } = new MessageChannel();
  toComm({ kind: 'setup', rank: h.rank, size: h.size, collective: h.collective, dataPlane: h.dataPlane, rule, grads, params, stats, control, port: port2, heartbeatTimeoutMs: spec.cluster.heartbeatTimeoutMs }, [port2]);
  const buffers = { params: new Float32Array(params), grads: new Float32Array(grads), stats: new Float32Array(stats) };
  const ctl = new Int32Array(control);
  const spans = spec.train.trace ? new SpanBuffer() : undefined;
  const host = hostSumOf(h, Math.max(initial.length, scratch), ctl);
  // On one machine the optimizer is sharded: each worker updates its own range of the parameters, then they gather.
  const local = updatesLocally(h.collective) ? new LocalUpdate(rule, host ? ownedRange(initial.length, h.rank, h.size) : undefined) : undefined;
  if (host) log.info({ rank: h.rank, size: h.size }, 'sums go through shared memory: every worker is on this machine');
  if (host && spec.cluster.overlap) log.info({}, 'cluster.overlap is off: shared-memory sums run on the compute thread (cluster.transport tcp keeps it)');
  const collectives = new Collectives({ port: port1, ctl, size: h.size, rank: h.rank, buffers, local, ...(host ? { host } : {}), ...(spans ? { spans } : {}) });
  for (const model of models) attachStatsSum(model, (v) => collectives.sumStatsSync(v));
  // The coordinator's batch-norm moving statistics: a fresh model's, or a saved model's (dtrain attack).
  const state = m.tensors[1] as Float32Array;
  if (state.length !== stateLength(models)) throw new Error(`initial state: ${state.length} values for networks of ${stateLength(models)}`);
  writeState(models, state);
  const program = job.program({
    params: buffers.params,
    grads: buffers.grads,
    update: (args, started) => collectives.update(args, started),
    // Skipping a step poisons the gradient sum once the loss is known: no sum may have started before.
    ...(spec.cluster.overlap && collectives.canStartEarly && spec.train.onNonFinite !== 'skip-step' ? { startSum: (offset: number, length: number) => collectives.startAllReduceRange(offset, length) } : {}),
    overlapBytes: spec.cluster.overlapBytes,
    sumRange: (offset, length) => collectives.allReduceRange(offset, length),
    broadcastState: (v) => collectives.broadcastFromRank0(v),
    ...(spans ? { spans } : {}),
  });
  if (program.overlapping) log.info({ overlapBytes: spec.cluster.overlapBytes }, 'gradient sums start during the backward pass');
  const optimizers = [...(local ? [local] : []), ...(program.ownOptimizers ?? [])];
  if (h.optimizers.length > 0) resumeOptimizers(optimizers, h.optimizers, m.tensors[2] as Float32Array);
  return { program, collectives, backend, optimizers, models, ctl, ...(host ? { host } : {}), ...(spans ? { spans } : {}) };
}


/**
 * The shared-memory sum the coordinator chose for a session whose workers
 * share this machine; slots as long as the longest sum (`longest` values,
 * the same on every worker), up to HOST_SLOT_FLOATS.
 */
function hostSumOf(h: Message<'start'>['header'], longest: number, ctl: Int32Array): HostSum | undefined {
  const c = h.collective;
  if (c.strategy !== 'ring' || !c.host) return undefined;
  const memory = hostMemory();
  if (!memory) throw new Error(`the coordinator chose shared memory for this machine's workers, and it is not available here: ${hostMemoryMissing()}`);
  return new HostSum({
    memory,
    name: c.host.name,
    rank: h.rank,
    size: h.size,
    slotFloats: Math.min(HOST_SLOT_FLOATS, Math.max(1, longest)),
    // As the TCP ring: a lost peer ends the session (ctl's word); a slow one is waited for, however slow.
    timeoutMs: Number.POSITIVE_INFINITY,
    ended: () => Atomics.load(ctl, CTL_ENDED) > 0,
  });
}

/** A resumed job's optimizer states, from the `start` message, into this worker's optimizers. */
function resumeOptimizers(optimizers: LocalUpdate[], meta: PackedStates['meta'], data: Float32Array): void {
  const states = unpackStates({ meta, data });
  if (states.length !== optimizers.length) throw new Error(`resuming: ${states.length} optimizer states for ${optimizers.length} optimizers`);
  optimizers.forEach((u, i) => u.loadStateDict(states[i]));
}

type Inboxed = Exclude<FromComm, { kind: 'log' }>;

/** How long a worker whose shared-memory sum stopped for a peer's failure waits for the coordinator to end the session. */
const PEER_FAILURE_GRACE_MS = 30_000;

/** The session's end from the comm thread, skipping other messages; undefined after `ms` or a crashed comm thread. */
async function sessionEnd(inbox: Inbox, ms: number): Promise<{ why: SessionEnd; message: string } | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const m = await Promise.race([inbox.next(), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), left)))]);
    clearTimeout(timer);
    if (!m || m.kind === 'fatal') return undefined;
    if (m.kind === 'ended') return m;
  }
}

/** Messages from the comm thread, awaited one at a time by the loop. */
class Inbox {
  private items: Inboxed[] = [];
  private waiter: ((m: Inboxed) => void) | undefined;
  push(m: Inboxed): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.items.push(m);
  }
  next(): Promise<Inboxed> {
    const m = this.items.shift();
    if (m) return Promise.resolve(m);
    return new Promise((r) => (this.waiter = r));
  }
}
