/** dtrain cancel: cancel a queued job or stop a running one. */
import { cancelCommand } from '../commands/job-queries.js';
import { type CommandDefinition, natsOptions } from './options.js';

export const defineCancel: CommandDefinition = (program, exit) => {
  const cancel = program
    .command('cancel')
    .description('cancel a queued job, or stop a running one within a step (its workers are freed for the next job)')
    .argument('<id>', 'job id')
    .option('--reason <text>', 'recorded with the job', 'cancelled by request')
    .option('--json', 'the job as JSON');
  natsOptions(cancel)
    .addHelpText('after', '\nExit codes: 0 cancelled (or already finished: its state is printed), 1 no such job or no service reached, 2 not a job id or invalid flags.')
    .action(async (id: string, flags) => exit(await cancelCommand(id, flags)));
};
