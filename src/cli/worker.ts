/** dtrain worker: join a coordinator and train what it sends. */
import { workerCommand } from '../commands/worker.js';
import { type CommandDefinition, managedOptions } from './options.js';

export const defineWorker: CommandDefinition = (program, exit) => {
  const worker = program
    .command('worker')
    .description('join a coordinator and train what it sends (one per GPU or CPU core)')
    .requiredOption('--connect <endpoint>', 'the coordinator, e.g. tcp://10.0.0.1:5555')
    .option('--advertise <host>', 'address other workers use to reach this one (default: the address of the interface that reaches the coordinator)')
    .option('--bind-host <host>', 'interface for the ring socket (default 0.0.0.0)')
    .option('--log-file <file>', 'write JSON logs here instead of stdout')
    .option('--serve', 'stay for job after job (service mode): each job runs in a fresh worker process');
  managedOptions(worker).action(async (flags) => exit(await workerCommand(flags)));
};
