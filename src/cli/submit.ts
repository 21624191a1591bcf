/** dtrain submit: hand a job to a service-mode coordinator. */
import { submitCommand } from '../commands/submit.js';
import { boundedInt, type CommandDefinition, natsOptions, setOption } from './options.js';

export const defineSubmit: CommandDefinition = (program, exit) => {
  const submit = program
    .command('submit')
    .description('submit a job to a service-mode coordinator (dtrain coordinator --nats); prints its id')
    .argument('<job>', 'job file (YAML or JSON); the coordinator checks it')
    .option('--id <id>', 'the job id (letters, digits, - and _; default <name>-<8 hex digits>)')
    .option('--priority <p>', 'higher runs first; equal priorities in submission order', boundedInt('--priority', -1000, 1000), 0)
    .addOption(setOption())
    .option('--wait', 'follow the job: a progress bar until it ends, then its summary')
    .option('--json', 'JSON on stdout')
    .option('--no-progress', 'with --wait: no progress bar');
  natsOptions(submit)
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
};
