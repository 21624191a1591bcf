/** `dtrain backends`: which tfjs backends are installed here, how fast each multiplies matrices, and what `auto` picks. */
import { activate, initBackend, installedNodeBackend } from '../tensor/backend.js';
import { matmulGflops, PROBE_N } from '../tensor/probe.js';
import { adapterLabel, startWebGPU } from '../tensor/webgpu/start.js';
import { errorMessage } from '../util/errors.js';

interface Row {
  backend: string;
  available: boolean;
  gflops?: number;
  /** webgpu: the adapter it runs on. */
  adapter?: string;
  note: string;
}

/** The webgpu row: its adapter, or why there is none. */
async function webgpuRow(): Promise<Row> {
  try {
    const adapter = adapterLabel((await startWebGPU())!);
    const ok = await activate('webgpu');
    return { backend: 'webgpu', available: ok, adapter, gflops: ok ? matmulGflops() : undefined, note: ok ? `adapter ${adapter}` : `adapter ${adapter} failed to start` };
  } catch (e) {
    return { backend: 'webgpu', available: false, note: errorMessage(e) };
  }
}

export async function backendsCommand(flags: { json?: boolean }): Promise<number> {
  const node = await installedNodeBackend();
  const rows: Row[] = [];
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu']) {
    if (name === 'webgpu') {
      rows.push(await webgpuRow());
      continue;
    }
    if (name === 'tensorflow' && !node) {
      rows.push({ backend: name, available: false, note: 'npm install @tensorflow/tfjs-node (or -gpu with CUDA)' });
      continue;
    }
    const ok = await activate(name);
    const note = name === 'tensorflow' ? `${node}` : name === 'wasm' ? 'with dtrain training kernels' : 'plain JavaScript';
    rows.push({ backend: name, available: ok, gflops: ok ? matmulGflops() : undefined, note: ok ? note : 'failed to start' });
  }
  const auto = await initBackend('auto');
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ backends: rows, auto })}\n`);
    return 0;
  }
  process.stdout.write(`backend      available  GFLOP/s (${PROBE_N}×${PROBE_N} matmul)  note\n`);
  for (const r of rows) {
    process.stdout.write(`${r.backend.padEnd(12)} ${(r.available ? 'yes' : 'no').padEnd(10)} ${(r.gflops === undefined ? '-' : r.gflops.toFixed(1)).padStart(8)}                ${r.note}\n`);
  }
  process.stdout.write(`backend: auto → ${auto.name} (${auto.reason})\n`);
  return 0;
}
