/** dtrain backends: the tfjs backends installed here. */
import { backendsCommand } from '../commands/backends.js';
import type { CommandDefinition } from './options.js';

export const defineBackends: CommandDefinition = (program, exit) => {
  program
    .command('backends')
    .description('list the tfjs backends installed here, with a short speed probe, and what backend: auto picks')
    .option('--json', 'one JSON line')
    .addHelpText('after', '\nExit codes: 0 listed, 2 invalid flags.')
    .action(async (flags) => exit(await backendsCommand(flags)));
};
