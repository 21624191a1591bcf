/**
 * A job type: everything dtrain knows of one kind of job, in one folder
 * (src/jobs/<type>/). Generic code (session, membership, step loop,
 * collectives, reducers, wire, service) never names a job type: the entry
 * points look the job's type up in the registry and hand its parts down.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { JobResult, JobContext } from '../coordinator/job-context.js';
import type { Summary } from '../coordinator/session.js';
import type { JobSpec, JobTypeSpec } from '../spec/job-spec.js';
import type { UpdateRule } from '../worker/reducers/reducer.js';
import type { ProgramDeps, StepProgram } from '../worker/step-program.js';

/** What a worker builds for a job: its networks and the step program that trains them. */
export interface WorkerJob {
  /** The job's networks, in flat-buffer order: the coordinator's initial parameters and state fill them. */
  models: LayersModel[];
  /** The update the gradient strategy applies (the optimizer and clipping of the network it updates). */
  rule: UpdateRule;
  /** The step program, given the shared buffers and collectives once they exist. */
  program(deps: ProgramDeps): StepProgram;
}

export interface JobType extends JobTypeSpec {
  /** The coordinator's side: runs the job on the session's workers (job-context.ts has the plumbing). */
  run(ctx: JobContext): Promise<JobResult>;
  /** The worker's side: loads the data and builds the networks and the step program, the same on every worker. */
  buildWorker(spec: JobSpec): Promise<WorkerJob>;
  /** The closing lines a person reads after the summary's first line (`dtrain run`, `dtrain coordinator`). */
  describe(summary: Summary, outDir: string): string;
}
