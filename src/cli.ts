/** The dtrain command line: parse, dispatch, turn errors into one clear line and an exit code. */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { attackCommand } from './commands/attack.js';
import { backendsCommand } from './commands/backends.js';
import { coordinatorCommand } from './commands/coordinator.js';
import { cancelCommand, jobsCommand, statusCommand } from './commands/job-queries.js';
import { submitCommand } from './commands/submit.js';
import { psCommand } from './commands/ps.js';
import { runCommand } from './commands/run.js';
import { sampleCommand } from './commands/sample.js';
import { workerCommand } from './commands/worker.js';
import { JOB_STATES } from './service/job-states.js';
import { DEFAULT_NATS } from './service/nats-connect.js';
import { DtrainError, errorMessage } from './util/errors.js';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  return n;
};
const nonnegInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
  return n;
};
const boundedInt = (name: string, lo: number, hi: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${name} must be a whole number from ${lo} to ${hi}`);
  return n;
};
const positiveNumber = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];
const psOptions = (c: Command) =>
  c
    .option('--ps-shards <k>', 'strategy ps: number of parameter-server shards (overrides cluster.ps.shards)', positiveInt('--ps-shards'))
    .option('--staleness <s>', 'strategy ps: bounded-staleness mode, no worker more than s steps ahead (overrides cluster.ps.staleness)', nonnegInt('--staleness'));
/** How submit, status, jobs and cancel reach NATS; each flag also comes from the environment. */
const natsOptions = (c: Command) =>
  c
    .addOption(new Option('--nats <url>', 'the NATS server of the service-mode coordinator').env('DTRAIN_NATS').default(DEFAULT_NATS))
    .addOption(new Option('--token <token>', 'NATS auth token').env('DTRAIN_NATS_TOKEN'))
    .addOption(new Option('--creds <file>', 'NATS credentials file (.creds)').env('DTRAIN_NATS_CREDS'));
const setOption = () => new Option('--set <key=value>', 'override a job-file key, e.g. train.optimizer.lr=0.01 (repeatable)').argParser(collect).default([]);

function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('dtrain')
    .description('Distributed data-parallel training for TensorFlow.js: a coordinator shards minibatches to worker processes that all-reduce gradients over a ring or through parameter-server shards.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  const run = program
    .command('run')
    .description('train a job on this machine: an embedded coordinator, N worker processes and, for strategy ps, K shard processes')
    .argument('<job>', 'job file (YAML or JSON)')
    .option('-w, --workers <n>', 'number of worker processes (overrides cluster.workers)', positiveInt('--workers'))
    .addOption(new Option('--strategy <name>', 'gradient strategy (overrides cluster.strategy)').choices(['ring', 'ps']));
  psOptions(run)
    .addOption(new Option('--backend <name>', 'tfjs backend (overrides cluster.backend)').choices(['auto', 'cpu', 'wasm', 'tensorflow']))
    .option('-o, --out <dir>', 'output folder (default runs/<job name>)')
    .addOption(setOption())
    .option('--json', 'JSON log lines on stdout instead of a progress bar')
    .option('--no-progress', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  dtrain run configs/synthetic-blobs-mlp.yaml              # seconds, no data files
  dtrain run configs/fashion-mnist-mlp.yaml --workers 2    # 0.89 test accuracy in about a minute
  dtrain run configs/fashion-mnist-mlp.yaml --workers 3 --strategy ps --ps-shards 2 --staleness 2
  dtrain run job.yaml --set train.optimizer.lr=0.01 --set train.epochs=3 --out runs/try

Writes DIR/summary.json, DIR/model/ (tfjs LayersModel), DIR/metrics.jsonl and DIR/log.jsonl;
GAN jobs write DIR/generator/, DIR/discriminator/ and DIR/samples/ instead of DIR/model/.
Exit codes: 0 done, 1 the job failed, 2 invalid job file or flags, 130 interrupted.`,
    )
    .action(async (job: string, flags) => exit(await runCommand(job, flags)));
  const coordinator = program
    .command('coordinator')
    .description('run a job across workers on several machines (starts when cluster.workers workers, and for strategy ps the shards, have joined); with --nats, run jobs submitted over NATS, one after another')
    .argument('[job]', 'job file (YAML or JSON); not with --nats')
    .requiredOption('--bind <endpoint>', 'control endpoint to listen on, e.g. tcp://0.0.0.0:5555 (a fixed port with --nats)')
    .option('-o, --out <dir>', 'output folder (default runs/<job name>)')
    .option('-w, --workers <n>', 'overrides cluster.workers', positiveInt('--workers'))
    .addOption(new Option('--strategy <name>', 'overrides cluster.strategy').choices(['ring', 'ps']));
  psOptions(coordinator)
    .addOption(setOption())
    .option('--nats <url>', 'service mode: take jobs from this NATS server (JetStream on), e.g. nats://127.0.0.1:4222')
    .option('--token <token>', 'service mode: NATS auth token')
    .option('--creds <file>', 'service mode: NATS credentials file (.creds)')
    .option('--state-dir <dir>', 'service mode: where jobs write their outputs (DIR/jobs/<id>/) and the coordinator its log')
    .option('--json', 'JSON log lines on stdout')
    .option('--no-progress', 'service mode: no progress bar on stderr')
    .addHelpText(
      'after',
      `
Service mode (--nats): jobs come from the JetStream work-queue stream
DTRAIN_SUBMISSIONS (dtrain submit, or a DtrainClient). Each is checked
(a refused job is answered with its errors), recorded in the KV bucket
dtrain-jobs, then run on the connected workers, one job at a time, highest
priority first, then in submission order. States: queued → running →
succeeded | failed | cancelled, published on dtrain.jobs.<id>.events;
progress on dtrain.jobs.<id>.progress; request/reply on dtrain.api.submit,
status, list and cancel. Start workers with --serve so that they stay for
the next job. A coordinator restarted after a crash runs the queued jobs
and marks failed the job it was running.

Examples:
  dtrain coordinator configs/fashion-mnist-mlp.yaml --bind tcp://0.0.0.0:5555
  dtrain coordinator --nats nats://127.0.0.1:4222 --bind tcp://127.0.0.1:5555 --state-dir /var/lib/dtrain`,
    )
    .action(async (job: string | undefined, flags) => exit(await coordinatorCommand(job, flags)));
  program
    .command('worker')
    .description('join a coordinator and train what it sends (one per GPU or CPU core)')
    .requiredOption('--connect <endpoint>', 'the coordinator, e.g. tcp://10.0.0.1:5555')
    .option('--advertise <host>', 'address other workers use to reach this one (default: this host name)')
    .option('--bind-host <host>', 'interface for the ring socket (default 0.0.0.0)')
    .option('--log-file <file>', 'write JSON logs here instead of stdout')
    .option('--serve', 'stay for job after job (service mode): each job runs in a fresh worker process')
    .addOption(new Option('--managed', 'started by dtrain run').hideHelp())
    .addOption(new Option('--json', 'JSON logs on stdout (the default)').hideHelp())
    .action(async (flags) => exit(await workerCommand(flags)));
  program
    .command('ps')
    .description('serve as a parameter-server shard for a coordinator whose job uses strategy ps (start cluster.ps.shards of them)')
    .requiredOption('--connect <endpoint>', 'the coordinator, e.g. tcp://10.0.0.1:5555')
    .option('--bind <endpoint>', 'where workers reach this shard (default tcp://0.0.0.0:*, any free port)')
    .option('--advertise <host>', 'address workers use to reach this shard (default: this host name)')
    .option('--log-file <file>', 'write JSON logs here instead of stdout')
    .option('--serve', 'stay for job after job (service mode): each job runs in a fresh shard process')
    .addOption(new Option('--managed', 'started by dtrain run').hideHelp())
    .addOption(new Option('--json', 'JSON logs on stdout (the default)').hideHelp())
    .addHelpText(
      'after',
      `
The coordinator gives the shard its slice of the parameters, its optimizer and
its mode when the job starts; the shard serves the workers until the job ends.
Example: dtrain ps --connect tcp://10.0.0.1:5555 --bind tcp://0.0.0.0:5600`,
    )
    .action(async (flags) => exit(await psCommand(flags)));
  program
    .command('sample')
    .description("draw samples from a GAN run's trained generator and write them as a PNG: a grid of images, or a scatter plot of 2-D points")
    .argument('<dir>', 'the output folder of a type: gan job (holding generator/), or a generator folder')
    .option('-n, --count <n>', 'how many samples', boundedInt('--count', 1, 4096), 64)
    .option('-o, --out <file>', 'the PNG to write (default DIR/samples/sample-seed<seed>.png)')
    .option('--seed <n>', 'seed of the latent noise; the same seed gives the same samples', nonnegInt('--seed'), 1)
    .option('--zoom <n>', 'draw each image pixel as n × n pixels', boundedInt('--zoom', 1, 16), 2)
    .addHelpText(
      'after',
      `
Examples:
  dtrain sample runs/gan-fashion-mnist-dcgan --count 64 --out grid.png
  dtrain sample runs/gan-ring8 --count 2000 --out ring8.png      # a scatter plot

The noise is z ~ N(0, I) from the seed; the generator runs in inference mode
(batch-norm with its moving statistics). With the job's seed and the default
zoom, the picture is the run's DIR/samples/final.png when --count is
gan.gridSamples.`,
    )
    .action(async (dir: string, flags) => exit(await sampleCommand(dir, flags)));
  program
    .command('attack')
    .description("a saved model's test accuracy under FGSM and/or PGD-k attacks at ε, the test set spread over local worker processes; writes summary.json and a gallery of attacked images")
    .requiredOption('-m, --model <dir>', 'the output folder of a supervised or adversarial job (holding model/), or a model folder')
    .requiredOption('-e, --epsilon <ε>', 'L∞ radius of the perturbation, in data units (pixels in [0, 1] for fashion-mnist)', positiveNumber('--epsilon'))
    .option('--data <source>', "fashion-mnist, a folder of Fashion-MNIST IDX files, or a job file whose data and seed are used (default: the run's job.json)")
    .addOption(new Option('-a, --attack <kind>', 'the attack: pgd, fgsm, or both').choices(['pgd', 'fgsm', 'both']).default('pgd'))
    .option('-k, --steps <k>', 'PGD steps', boundedInt('--steps', 1, 1000), 20)
    .option('--step-size <η>', 'PGD step size (default 2.5 ε / steps)', positiveNumber('--step-size'))
    .option('-w, --workers <n>', 'worker processes that share the test set', positiveInt('--workers'), 1)
    .addOption(new Option('--backend <name>', 'tfjs backend of the workers').choices(['auto', 'cpu', 'wasm', 'tensorflow']).default('auto'))
    .option('--limit <n>', 'fashion-mnist: attack only the first n test images', positiveInt('--limit'))
    .option('--seed <n>', "seed of PGD's random starts (default: the run's seed)", nonnegInt('--seed'))
    .option('-o, --out <dir>', 'output folder (default DIR/attack-<attack>-eps<ε>)')
    .option('--json', 'JSON log lines on stdout instead of a progress bar')
    .option('--no-progress', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  dtrain attack --model runs/fashion-mnist-mlp --epsilon 0.1 --workers 2
  dtrain attack --model runs/fashion-mnist-pgd --epsilon 0.1 --attack both --steps 40
  dtrain attack --model my-model/ --data fashion-mnist --epsilon 0.05 --limit 1000

PGD starts from x + Uniform(−ε, ε), keyed by (seed, test index), and takes k
steps x ← clip(Proj_ε(x + η · sign ∇ₓ loss)); FGSM is x + ε · sign ∇ₓ loss.
Both are untargeted and keep images in [0, 1]. The model runs in inference
mode (batch-norm with its moving statistics, no dropout).
OUT/summary.json holds {adversarial: {epsilon, clean, fgsm, pgd, pgdSteps,
pgdStepSize}}; for images OUT/gallery.png shows the first 8 test images,
their perturbations and the attacked images with the model's predictions.
Exit codes: 0 done, 1 failed, 2 invalid flags or model, 130 interrupted.`,
    )
    .action(async (flags) => exit(await attackCommand(flags)));
  natsOptions(
    program
      .command('submit')
      .description('submit a job to a service-mode coordinator (dtrain coordinator --nats); prints its id')
      .argument('<job>', 'job file (YAML or JSON); the coordinator checks it')
      .option('--id <id>', 'the job id (letters, digits, - and _; default <name>-<8 hex digits>)')
      .option('--priority <p>', 'higher runs first; equal priorities in submission order', boundedInt('--priority', -1000, 1000), 0)
      .addOption(setOption())
      .option('--wait', 'follow the job: a progress bar until it ends, then its summary')
      .option('--json', 'JSON on stdout')
      .option('--no-progress', 'with --wait: no progress bar'),
  )
    .addHelpText(
      'after',
      `
The job waits in the JetStream stream until a coordinator takes it, so a
submission is kept even while no coordinator runs. A model.topology file is
read here and sent inline; data paths are the coordinator's.
Examples:
  ID=$(dtrain submit configs/fashion-mnist-mlp.yaml)
  dtrain submit configs/synthetic-blobs-mlp.yaml --priority 5 --wait
Exit codes: 0 submitted (with --wait: succeeded), 1 failed or cancelled, 2 refused (each bad key named), 130 stopped watching.`,
    )
    .action(async (job: string, flags) => exit(await submitCommand(job, flags)));
  natsOptions(program.command('status').description("a service-mode job's state, history, progress and summary").argument('<id>', 'job id').option('--json', 'the record as JSON')).action(
    async (id: string, flags) => exit(await statusCommand(id, flags)),
  );
  natsOptions(
    program
      .command('jobs')
      .description('list service-mode jobs in submission order')
      .addOption(new Option('--state <state>', 'only jobs in this state').choices([...JOB_STATES]))
      .option('--json', 'a JSON array'),
  ).action(async (flags) => exit(await jobsCommand(flags)));
  natsOptions(
    program
      .command('cancel')
      .description('cancel a queued job, or stop a running one within a step (its workers are freed for the next job)')
      .argument('<id>', 'job id')
      .option('--reason <text>', 'recorded with the job', 'cancelled by request')
      .option('--json', 'the job as JSON'),
  ).action(async (id: string, flags) => exit(await cancelCommand(id, flags)));
  program
    .command('backends')
    .description('list the tfjs backends installed here, with a short speed probe, and what backend: auto picks')
    .option('--json', 'one JSON line')
    .action(async (flags) => exit(await backendsCommand(flags)));
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await buildProgram((c) => (code = c)).parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`dtrain: ${errorMessage(err)}\n`);
    return err instanceof DtrainError ? err.exitCode : 1;
  }
}

process.exit(await main(process.argv));
