/** What several command definitions share: number parsers, common options, and how an action hands back its exit code. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_NATS } from '../service/nats-connect.js';
import { DEFAULT_COORDINATOR_TIMEOUT_S } from '../commands/process-flags.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVEL_ENV, LOG_LEVELS } from '../util/log.js';

/** Records the exit code of the command that ran; main returns it after parsing. */
export type SetExitCode = (code: number) => void;
/** Adds one subcommand, its options, help text and action, to the program. */
export type CommandDefinition = (program: Command, exit: SetExitCode) => void;

export const STRATEGY_CHOICES = ['ring', 'ps'] as const;
export const BACKEND_CHOICES = ['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const;

export const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  return n;
};
export const nonnegInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
  return n;
};
/** `--gpus 0,1,3`: GPU indices, comma-separated, each once. */
export const gpuList = (v: string): number[] => {
  const parts = v.split(',').map((s) => s.trim());
  const gpus = parts.map(Number);
  if (parts.some((s) => s === '') || gpus.some((n) => !Number.isInteger(n) || n < 0)) throw new InvalidArgumentError('--gpus takes GPU indices separated by commas, e.g. 0,1');
  if (new Set(gpus).size !== gpus.length) throw new InvalidArgumentError('--gpus names a GPU twice (more workers than GPUs: --workers N shares them)');
  return gpus;
};
export const boundedInt = (name: string, lo: number, hi: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a whole number from ${lo} to ${hi}`);
  return n;
};
export const positiveNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
  return n;
};
export const nonnegNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

/** run and coordinator: the parameter-server overrides. */
export const psOptions = (c: Command) =>
  c
    .option('--ps-shards <k>', 'strategy ps: number of parameter-server shards (overrides cluster.ps.shards)', positiveInt('--ps-shards'))
    .option('--staleness <s>', 'strategy ps: bounded-staleness mode, no worker more than s steps ahead (overrides cluster.ps.staleness)', nonnegInt('--staleness'));
/** How submit, status, jobs and cancel reach NATS; each flag also comes from the environment. */
export const natsOptions = (c: Command) =>
  c
    .addOption(new Option('--nats <url>', 'the NATS server of the service-mode coordinator').env('DTRAIN_NATS').default(DEFAULT_NATS))
    .addOption(new Option('--token <token>', 'NATS auth token').env('DTRAIN_NATS_TOKEN'))
    .addOption(new Option('--creds <file>', 'NATS credentials file (.creds)').env('DTRAIN_NATS_CREDS'))
    .addOption(new Option('--user <name>', 'NATS user (with --password)').env('DTRAIN_NATS_USER'))
    .addOption(new Option('--password <password>', 'NATS password').env('DTRAIN_NATS_PASSWORD'));
/** Service mode: the folders submitted jobs may read data from. */
export const dataRootOption = () =>
  new Option('--data-root <dir>', 'service mode: a folder submitted jobs may read data from (repeatable; default /usr/share/datasets); a submission naming any other path, or a topology file, is refused').argParser(collect).default([]);
export const setOption = () => new Option('--set <key=value>', 'override a job-file key, e.g. train.optimizer.lr=0.01 (repeatable)').argParser(collect).default([]);
/**
 * Every command that writes a log (run, coordinator, worker, ps, attack): its
 * least level. A bad value is a usage error (exit 2) naming the choices; the
 * CLI applies the level to every logger of the process (cli.ts), and dtrain
 * run hands it to its workers and shards.
 */
export const logLevelOption = () =>
  new Option('--log-level <level>', 'write log lines of this level and above; silent writes none').choices(LOG_LEVELS).env(LOG_LEVEL_ENV).default(DEFAULT_LOG_LEVEL);
/** run and attack: JSON log lines or a progress bar. */
export const progressOptions = (c: Command) =>
  c.option('--json', 'JSON log lines on stdout instead of a progress bar').option('--no-progress', 'no progress output');
/** worker and ps: the hidden flags dtrain run passes to the processes it starts, and --coordinator-timeout. */
export const managedOptions = (c: Command) =>
  c
    .option(
      '--coordinator-timeout <seconds>',
      'when the coordinator is lost mid-job, or the job goes on without this session, join again and wait this long for a coordinator (dtrain coordinator --resume) before giving up',
      nonnegNumber('--coordinator-timeout'),
      DEFAULT_COORDINATOR_TIMEOUT_S,
    )
    .addOption(new Option('--managed', 'started by dtrain run').hideHelp()).addOption(new Option('--json', 'JSON logs on stdout (the default)').hideHelp());
/** coordinator, worker and ps: the cluster key, or the explicit choice to go without one. */
export const securityOptions = (c: Command) =>
  c
    .addOption(new Option('--key <file>', 'the cluster key file (dtrain keys generate FILE): only processes holding the same key can join, and control traffic is encrypted; needed for any address but loopback').env('DTRAIN_KEY_FILE'))
    .option('--insecure', 'allow an address other than loopback without a key: anyone who reaches the sockets can join, and all traffic is in clear (a network you trust only)');

/** --metrics-port: Prometheus metrics of the coordinator at http://127.0.0.1:P/metrics (0: a free port, printed). */
export function metricsPortOption(): Option {
  return new Option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:PORT/metrics while the job runs (0: any free port, printed)').argParser(boundedInt('--metrics-port', 0, 65535));
}

/**
 * --metrics-host, --dashboard, --dashboard-host: what the coordinator serves
 * over HTTP while the job runs (besides --metrics-port), and where.
 */
export function watchOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-host <host>', 'address the metrics server binds (default 127.0.0.1; 0.0.0.0 lets other hosts scrape it)')
    .addOption(new Option('--dashboard <port>', 'serve a live, read-only dashboard at http://127.0.0.1:PORT/ while the job runs: curves, throughput, workers and stragglers, pictures (0: any free port, printed)').argParser(boundedInt('--dashboard', 0, 65535)))
    .option('--dashboard-host <host>', 'address the dashboard binds (default 127.0.0.1). It has no login: anyone who reaches it sees the job, its hosts and pictures of its data');
}
