/** dtrain coordinator: run a job across machines, or (with --nats) serve submitted jobs. */
import { Option } from 'commander';
import { coordinatorCommand } from '../commands/coordinator.js';
import { DEFAULT_CAPS } from '../service/caps.js';
import { type CommandDefinition, dataRootOption, logLevelOption, metricsPortOption, positiveInt, watchOptions, psOptions, securityOptions, setOption, STRATEGY_CHOICES } from './options.js';

export const defineCoordinator: CommandDefinition = (program, exit) => {
  const coordinator = program
    .command('coordinator')
    .description('run a job across workers on several machines (starts when cluster.workers workers, and for strategy ps the shards, have joined); with --nats, run jobs submitted over NATS, one after another')
    .argument('[job]', 'job file (YAML or JSON); not with --nats')
    .requiredOption('--bind <endpoint>', 'control endpoint to listen on, e.g. tcp://0.0.0.0:5555 (a fixed port with --nats)')
    .option('-o, --out <dir>', 'output folder (default runs/<job name>)')
    .option('--overwrite', 'replace an earlier run in the output folder (by default that is an error: --resume DIR continues one)')
    .option('--resume <dir>', "continue the run in DIR from its latest checkpoint, with the job read from DIR (a coordinator that was lost: its workers wait --coordinator-timeout to join again)")
    .option('-w, --workers <n>', 'overrides cluster.workers', positiveInt('--workers'))
    .addOption(new Option('--strategy <name>', 'overrides cluster.strategy').choices(STRATEGY_CHOICES));
  securityOptions(psOptions(coordinator))
    .addOption(setOption())
    .option('--nats <url>', 'service mode: take jobs from this NATS server (JetStream on), e.g. nats://127.0.0.1:4222')
    .option('--token <token>', 'service mode: NATS auth token')
    .option('--creds <file>', 'service mode: NATS credentials file (.creds)')
    .addOption(new Option('--user <name>', 'service mode: NATS user (with --password; deploy/nats/nats-server.conf)').env('DTRAIN_NATS_USER'))
    .addOption(new Option('--password <password>', 'service mode: NATS password').env('DTRAIN_NATS_PASSWORD'))
    .option('--state-dir <dir>', 'service mode: where jobs write their outputs (DIR/jobs/<id>/) and the coordinator its log')
    .addOption(dataRootOption())
    .option('--max-params <n>', `service mode: refuse a job whose networks have more parameters (default ${DEFAULT_CAPS.maxParams.toLocaleString('en-US')}), counted before anything is built`, positiveInt('--max-params'))
    .option('--max-data-mb <mb>', `service mode: refuse a job whose data takes more memory once loaded (default ${DEFAULT_CAPS.maxDataMb})`, positiveInt('--max-data-mb'))
    .option('--max-workers <n>', `service mode: refuse a job that asks for more workers, or ps shards (default ${DEFAULT_CAPS.maxWorkers})`, positiveInt('--max-workers'))
    .option('--json', 'JSON log lines on stdout')
    .addOption(logLevelOption())
    .addOption(metricsPortOption());
  watchOptions(coordinator)
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
the next job. A coordinator restarted after a crash resumes the job it was
running from its latest checkpoint, then runs the queued jobs. Service mode
always serves Prometheus metrics (on 9464 unless --metrics-port says
otherwise): each job's steps, and dtrain_jobs{state}, dtrain_queue_depth;
--dashboard P adds the dashboard with every job in the store.

Failures (one job): a worker or shard lost mid-job (exited, or silent for
cluster.heartbeatTimeoutMs) ends the session; the others join again and the
job goes on from its latest checkpoint once cluster.workers workers (and the
shards) are back: a restarted process, a --serve worker's next process, or
the same one when its link comes back; at most cluster.maxRestarts times.
The recoveries are listed in summary.json. A lost coordinator: start it
again with --resume DIR within the workers' --coordinator-timeout.

Security: an address other than loopback needs --key FILE (dtrain keys
generate FILE; the same file on every worker and shard), or --insecure.
Service mode on a NATS server that is not on loopback needs --user and
--password, --token or --creds (deploy/nats/nats-server.conf), or --insecure.

Examples:
  dtrain coordinator configs/fashion-mnist-mlp.yaml --bind tcp://0.0.0.0:5555 --key cluster.key
  dtrain coordinator --resume runs/fashion-mnist-mlp --bind tcp://0.0.0.0:5555 --key cluster.key
  dtrain coordinator --nats nats://127.0.0.1:4222 --bind tcp://127.0.0.1:5555 --state-dir /var/lib/dtrain --dashboard 8080
Exit codes: 0 the job succeeded (service mode: stopped by a signal), 1 it
failed, 2 bad flags, job file or key file, or no key (or NATS credentials)
where one is needed, 130 interrupted.`,
    )
    .action(async (job: string | undefined, flags) => exit(await coordinatorCommand(job, flags)));
};
