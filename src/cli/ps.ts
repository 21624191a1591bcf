/** dtrain ps: a parameter-server shard for a job with strategy ps. */
import { psCommand } from '../commands/ps.js';
import { type CommandDefinition, logLevelOption, managedOptions, securityOptions } from './options.js';

export const definePs: CommandDefinition = (program, exit) => {
  const ps = program
    .command('ps')
    .description('serve as a parameter-server shard for a coordinator whose job uses strategy ps (start cluster.ps.shards of them)')
    .requiredOption('--connect <endpoint>', 'the coordinator, e.g. tcp://10.0.0.1:5555')
    .option('--bind <endpoint>', 'where workers reach this shard (default tcp://0.0.0.0:*, any free port)')
    .option('--advertise <host>', 'address workers use to reach this shard (default: the address of the interface that reaches the coordinator)')
    .option('--log-file <file>', 'write JSON logs here instead of stdout')
    .addOption(logLevelOption())
    .option('--serve', 'stay for job after job (service mode): each job runs in a fresh shard process');
  managedOptions(securityOptions(ps))
    .addHelpText(
      'after',
      `
The coordinator gives the shard its slice of the parameters, its optimizer and
its mode when the job starts; the shard serves the workers until the job ends.
Like a worker, it joins again when the job goes on in a new session or its
coordinator falls silent (--coordinator-timeout). Exit codes: 0 the job
finished, 1 the shard failed, or no coordinator came back in time, 2 bad
flags, a bad key file, or no key where one is needed.
An address other than loopback needs the cluster key: --key FILE (dtrain
keys generate FILE, the coordinator's file), or --insecure.
Example: dtrain ps --connect tcp://10.0.0.1:5555 --bind tcp://0.0.0.0:5600 --key cluster.key`,
    )
    .action(async (flags) => exit(await psCommand(flags)));
};
