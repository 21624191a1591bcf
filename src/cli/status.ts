/** dtrain status: one service-mode job. */
import { statusCommand } from '../commands/job-queries.js';
import { type CommandDefinition, natsOptions } from './options.js';

export const defineStatus: CommandDefinition = (program, exit) => {
  const status = program
    .command('status')
    .description("a service-mode job's state, history, progress and summary")
    .argument('<id>', 'job id')
    .option('--json', 'the record as JSON');
  natsOptions(status)
    .addHelpText('after', '\nExit codes: 0 shown, 1 no such job or no service reached, 2 not a job id or invalid flags.')
    .action(async (id: string, flags) => exit(await statusCommand(id, flags)));
};
