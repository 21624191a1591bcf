/**
 * `npm run bench -- recovery [--every N]`: what checkpoints cost and how
 * fast a killed run is back. The Fashion-MNIST MLP of the quick start on 2
 * wasm workers, 400 steps:
 *   - step time with a checkpoint every N steps over step time with none
 *     (interleaved three times, medians), and from the log how long each
 *     checkpoint held the steps (fetch and copy) and how long its files took
 *     to write in the background;
 *   - kill -9 of the whole run after its second checkpoint, then
 *     `dtrain run --resume`: seconds from the kill to the resumed run's
 *     first redone step.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { middle, runStepMs } from './run-step-ms.js';
import { flag } from './args.js';

const CLI = fileURLToPath(new URL('../../bin/dtrain.js', import.meta.url));
const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const BATCH = 128;
const STEPS = 400;

const job = (checkpoint: Record<string, unknown>) => ({
  name: 'bench-recovery',
  seed: 1,
  data: { source: 'fashion-mnist', path: FASHION_MNIST, limit: BATCH * 100, testLimit: 100 },
  model: { zoo: 'mlp', hidden: [256, 128, 100] },
  train: { maxSteps: STEPS, epochs: 10, batchSize: BATCH, optimizer: { name: 'adam', lr: 0.001 }, logEvery: 20, checkpoint },
  cluster: { workers: 2, backend: 'wasm' },
});

interface LogLine {
  msg: string;
  time: string;
  heldMs?: number;
  writeMs?: number;
}

const logOf = (out: string) =>
  readFileSync(join(out, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogLine);

function sizeOf(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + (statSync(join(dir, f)).isDirectory() ? sizeOf(join(dir, f)) : statSync(join(dir, f)).size), 0);
}

/** Checkpoint figures of one run: the steps held, the background write, the size of one. */
function checkpointCost(every: number): { held: number; write: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-bench-'));
  try {
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job({ every, keep: 2, epochEnd: false })));
    execFileSync(process.execPath, [CLI, 'run', join(dir, 'job.json'), '--out', join(dir, 'out'), '--no-progress'], { stdio: 'ignore' });
    const log = logOf(join(dir, 'out'));
    const held = log.filter((l) => l.msg === 'checkpoint taken').map((l) => l.heldMs!);
    const write = log.filter((l) => l.msg === 'checkpoint written').map((l) => l.writeMs!);
    const root = join(dir, 'out', 'checkpoints');
    return { held: middle(held), write: middle(write), bytes: sizeOf(join(root, readdirSync(root)[0])) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds from kill -9 of a run to its resumed run's first redone step. */
async function killToRedone(every: number): Promise<{ seconds: number; step: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-bench-'));
  const out = join(dir, 'out');
  const ckpts = () => (existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')).filter((d) => d.startsWith('step-')) : []);
  try {
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job({ every, keep: 2, epochEnd: false })));
    const run = spawn(process.execPath, [CLI, 'run', join(dir, 'job.json'), '--out', out, '--no-progress'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => run.on('exit', r));
    const deadline = Date.now() + 120_000;
    while (ckpts().length < 2) {
      if (Date.now() > deadline) throw new Error('no second checkpoint within 120 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const killedAt = Date.now();
    process.kill(-run.pid!, 'SIGKILL');
    await exited;
    const from = Number(ckpts().sort().pop()!.slice(5));
    execFileSync(process.execPath, [CLI, 'run', '--resume', out, '--no-progress'], { stdio: 'ignore' });
    const first = logOf(out).find((l) => l.msg === 'first step done' && Date.parse(l.time) >= killedAt);
    if (!first) throw new Error('the resumed run logged no first step');
    return { seconds: (Date.parse(first.time) - killedAt) / 1000, step: from };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRecovery(args: string[]): Promise<void> {
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  const every = Number(flag(args, '--every', '50'));
  if (!Number.isInteger(every) || every < 1) throw new Error('--every takes a whole number of steps ≥ 1');
  const none = { keep: 0 };
  const some = { every, keep: 2, epochEnd: false };
  const ms: [number[], number[]] = [[], []];
  for (let round = 0; round < 3; round++) {
    ms[0].push(runStepMs(job(none)));
    ms[1].push(runStepMs(job(some)));
  }
  const [base, withCk] = ms.map(middle);
  const cost = checkpointCost(every);
  const back = await killToRedone(every);
  console.log(`Fashion-MNIST MLP 784-256-128-100-10 (adam), batch ${BATCH} over 2 wasm workers, ${STEPS} steps; medians of 3 interleaved runs`);
  console.log(`  ms per step, no checkpoints            ${base.toFixed(2)}`);
  console.log(`  ms per step, a checkpoint every ${String(every).padEnd(6)} ${withCk.toFixed(2)}   ratio ${(withCk / base).toFixed(3)}`);
  console.log(`  a checkpoint holds the steps for       ${cost.held.toFixed(1)} ms (fetch from rank 0 and copy)`);
  console.log(`  its files are written in the background in ${cost.write.toFixed(1)} ms (${(cost.bytes / 1e6).toFixed(2)} MB, fsync'd)`);
  console.log(`  kill -9 → first redone step            ${back.seconds.toFixed(2)} s (dtrain run --resume from step ${back.step})`);
}
