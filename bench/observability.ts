/**
 * `npm run bench -- observability [--rounds N]`: what watching a job costs.
 * The 2-worker Fashion-MNIST MLP step (configs/fashion-mnist-mlp.yaml's
 * model, b128, ring, wasm, 400 steps), interleaved rounds, medians:
 *   baseline: a metrics line and a TensorBoard record every 10 steps, no
 *     timeline (train.trace false); then the same again, to show how far
 *     two identical modes differ on this machine;
 *   the timeline: the same, and every worker's spans of every step, sent
 *     with its reports and written to DIR/trace.json;
 *   everything on: the same, the timeline, Prometheus
 *     (--metrics-port 0) and the dashboard (--dashboard) with a client
 *     reading its event stream all along, as a browser does.
 * (The TensorBoard record, ~200 bytes appended every 10 steps, is in both:
 * the step windows must start at the same step to compare. The plots are
 * drawn after the last step, outside the measured window.)
 * Goal: ≤ 3% of a step.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { compareStepTimes, roundsOf } from './run-step-ms.js';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const STEPS = 400;
const NAME = 'bench-observability';

const mlp = (trace: boolean) => ({
  name: NAME,
  seed: 1,
  data: { source: 'fashion-mnist', path: FASHION_MNIST },
  model: { zoo: 'mlp', hidden: [256, 128, 100], activation: 'relu' },
  train: { epochs: 1, maxSteps: STEPS, batchSize: 128, optimizer: { name: 'adam', lr: 0.001 }, logEvery: 10, trace, checkpoint: { epochEnd: false, minutes: 0, keep: 0 } },
  cluster: { workers: 2, strategy: 'ring', backend: 'wasm' },
});

/** A port free now (the dashboard's, known before the run starts so that the client can find it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** A process that connects to the job's event stream as soon as the dashboard is up and reads it until the run ends; returns its killer. */
function streamReader(args: string[]): () => void {
  const port = args[args.indexOf('--dashboard') + 1];
  const url = `http://127.0.0.1:${port}/api/jobs/${NAME}/events`;
  const script = `const u=${JSON.stringify(url)};(async()=>{for(let i=0;i<600;i++){try{const r=await fetch(u);for await(const _ of r.body){}return}catch{await new Promise(r=>setTimeout(r,50))}}})()`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

export async function benchObservability(args: string[]): Promise<void> {
  const rounds = roundsOf(args);
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
  const ports = await Promise.all(Array.from({ length: rounds }, freePort));
  console.log(`step time, Fashion-MNIST MLP 784-256-128-100-10, b128, 2 workers, ring, wasm, ${STEPS} steps; ${rounds} interleaved round(s), medians`);
  const modes = [
    { name: 'metrics.jsonl and TensorBoard', job: mlp(false), args: ['--insecure'] },
    // The same again: how far two identical modes differ here (the noise floor of the comparison).
    { name: 'the same again (noise)', job: mlp(false), args: ['--insecure'] },
    { name: 'and the timeline (trace.json)', job: mlp(true), args: ['--insecure'] },
    { name: 'and timeline, Prometheus, dashboard', job: mlp(true), args: () => ['--insecure', '--metrics-port', '0', '--dashboard', String(ports.shift() ?? 0)], during: streamReader },
  ];
  const medians = compareStepTimes(modes, rounds);
  const cost = (k: number) => `${((medians[k] / medians[0] - 1) * 100).toFixed(1)}%`;
  console.log(`two identical modes differ by ${cost(1)}; the timeline costs ${cost(2)} of a step; everything on, ${cost(3)} (goal ≤ 3%)`);
}
