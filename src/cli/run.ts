/** dtrain run: train a job on this machine. */
import { Option } from 'commander';
import { runCommand } from '../commands/run.js';
import { BACKEND_CHOICES, gpuList, type CommandDefinition, logLevelOption, metricsPortOption, positiveInt, watchOptions, progressOptions, psOptions, setOption, STRATEGY_CHOICES } from './options.js';

export const defineRun: CommandDefinition = (program, exit) => {
  const run = program
    .command('run')
    .description('train a job on this machine: an embedded coordinator, N worker processes and, for strategy ps, K shard processes')
    .argument('[job]', 'job file (YAML or JSON); none with --resume')
    .option('-w, --workers <n>', 'number of worker processes (overrides cluster.workers)', positiveInt('--workers'))
    .addOption(new Option('--strategy <name>', 'gradient strategy (overrides cluster.strategy)').choices(STRATEGY_CHOICES));
  psOptions(run)
    .addOption(new Option('--backend <name>', 'tfjs backend (overrides cluster.backend)').choices(BACKEND_CHOICES))
    .option('--gpus <list>', 'GPU indices, one worker each unless --workers is given, e.g. 0,1 (overrides cluster.gpus; webgpu picks the adapter, CUDA_VISIBLE_DEVICES is set for tfjs-node-gpu)', gpuList)
    .option('-o, --out <dir>', 'output folder (default runs/<job name>)')
    .option('--overwrite', 'replace an earlier run in the output folder (by default that is an error: --resume DIR continues one)')
    .option('--resume <dir>', "continue the run whose output folder is DIR from its latest checkpoint (the job is DIR's; with the same worker count the result equals an undisturbed run's)")
    .addOption(setOption())
    .option('--insecure', 'the local processes talk without a cluster key (by default each run makes a fresh one, held in memory only)');
  watchOptions(progressOptions(run).addOption(logLevelOption()).addOption(metricsPortOption()))
    .addHelpText(
      'after',
      `
Examples:
  dtrain run configs/synthetic-blobs-mlp.yaml              # seconds, no data files
  dtrain run configs/fashion-mnist-mlp.yaml --workers 2    # 0.89 test accuracy in about a minute
  dtrain run configs/fashion-mnist-mlp.yaml --workers 3 --strategy ps --ps-shards 2 --staleness 2
  dtrain run configs/seq2seq-attention.yaml               # GRU + attention reverses digit strings, about 40 s
  dtrain run job.yaml --set train.optimizer.lr=0.01 --set train.epochs=3 --out runs/try
  dtrain run --resume runs/fashion-mnist-mlp                # after Ctrl-C, a crash or kill -9
  dtrain run configs/fashion-mnist-mlp.yaml --backend webgpu --gpus 0,1   # a worker per GPU
  dtrain run configs/fashion-mnist-mlp.yaml --dashboard 8080 --metrics-port 9464   # watch it live

Writes DIR/summary.json, DIR/model/ (tfjs LayersModel), DIR/metrics.jsonl, DIR/log.jsonl,
DIR/plots/*.png, DIR/tensorboard/ (tensorboard --logdir), DIR/trace.json (Perfetto) and
DIR/checkpoints/ (train.checkpoint: every epoch end and 10 minutes, the newest 2 kept);
GAN jobs write DIR/generator/, DIR/discriminator/ and DIR/samples/ instead of DIR/model/;
VAE jobs DIR/encoder/, DIR/decoder/, DIR/samples.png and DIR/reconstructions.png; seq2seq
jobs add DIR/attention.png.
Exit codes: 0 done, 1 the job failed, 2 invalid job file or flags, 130 interrupted.`,
    )
    .action(async (job: string | undefined, flags) => exit(await runCommand(job, flags)));
};
