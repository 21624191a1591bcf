/*
 * The baseline for `npm run bench -- allreduce`: OpenMPI's MPI_Allreduce
 * (sum) of a float32 buffer, timed as the ring is: a checked warm-up, then
 * ITERS all-reduces; prints the slowest rank's seconds per all-reduce.
 *   mpirun -np N ./allreduce BYTES ITERS
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 3) {
    if (rank == 0) fprintf(stderr, "usage: allreduce BYTES ITERS\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  long n = atol(argv[1]) / 4;
  int iters = atoi(argv[2]);
  float *in = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
  for (long i = 0; i < n; i++) in[i] = (float)(rank + 1);
  MPI_Allreduce(in, out, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  float want = (float)(size * (size + 1) / 2);
  if (out[0] != want || out[n - 1] != want) {
    fprintf(stderr, "rank %d: sum %f, want %f\n", rank, out[0], want);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  for (int i = 0; i < 3; i++) MPI_Allreduce(in, out, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int i = 0; i < iters; i++) MPI_Allreduce(in, out, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double mine = (MPI_Wtime() - t0) / iters, slowest;
  MPI_Reduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("%.9f\n", slowest);
  free(in);
  free(out);
  MPI_Finalize();
  return 0;
}
