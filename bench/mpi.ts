/**
 * OpenMPI's MPI_Allreduce as the all-reduce bench's reference, when this
 * machine has it (Debian: openmpi-bin libopenmpi-dev): bench/mpi/allreduce.c
 * is compiled with mpicc into a temp folder and run with mpirun over TCP
 * loopback (btl tcp) and over shared memory (btl vader), both with the ob1
 * transport layer so that the btl chosen is the one used.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../bench/mpi/allreduce.c', import.meta.url));

export type MpiTransport = 'tcp' | 'shm';

export interface Mpi {
  /** Seconds per all-reduce of `bytes` over `n` ranks. */
  time(n: number, bytes: number, iters: number, transport: MpiTransport): number;
  close(): void;
}

/** Undefined when mpicc or mpirun is missing (the bench then prints no MPI rows). */
export function openMpi(): Mpi | undefined {
  try {
    execFileSync('mpirun', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-mpi-'));
  const exe = join(dir, 'allreduce');
  try {
    execFileSync('mpicc', ['-O2', '-o', exe, SOURCE], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    time: (n, bytes, iters, transport) => {
      const btl = transport === 'tcp' ? ['--mca', 'btl', 'tcp,self', '--mca', 'btl_tcp_if_include', 'lo'] : ['--mca', 'btl', 'vader,self'];
      const out = execFileSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(n), '--mca', 'pml', 'ob1', ...btl, exe, String(bytes), String(iters)], { encoding: 'utf8' });
      const seconds = Number(out.trim().split('\n').pop());
      if (!(seconds > 0)) throw new Error(`mpirun printed no time: ${out}`);
      return seconds;
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
