/** dtrain jobs: list service-mode jobs. */
import { Option } from 'commander';
import { jobsCommand } from '../commands/job-queries.js';
import { JOB_STATES } from '../service/job-states.js';
import { type CommandDefinition, natsOptions } from './options.js';

export const defineJobs: CommandDefinition = (program, exit) => {
  const jobs = program
    .command('jobs')
    .description('list service-mode jobs in submission order')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices([...JOB_STATES]))
    .option('--json', 'a JSON array');
  natsOptions(jobs)
    .addHelpText('after', '\nExit codes: 0 listed, 1 no service reached, 2 invalid flags.')
    .action(async (flags) => exit(await jobsCommand(flags)));
};
