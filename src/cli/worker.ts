/** dtrain worker: join a coordinator and train what it sends. */
import { workerCommand } from '../commands/worker.js';
import { type CommandDefinition, logLevelOption, managedOptions, nonnegInt, securityOptions } from './options.js';

export const defineWorker: CommandDefinition = (program, exit) => {
  const worker = program
    .command('worker')
    .description('join a coordinator and train what it sends (one per GPU or CPU core)')
    .requiredOption('--connect <endpoint>', 'the coordinator, e.g. tcp://10.0.0.1:5555')
    .option('--advertise <host>', 'address other workers use to reach this one (default: the address of the interface that reaches the coordinator)')
    .option('--bind-host <host>', 'interface for the ring socket (default 0.0.0.0)')
    .option('--log-file <file>', 'write JSON logs here instead of stdout')
    .option('--gpu <index>', "this worker's GPU: the webgpu adapter of that index, and CUDA_VISIBLE_DEVICES for tfjs-node-gpu", nonnegInt('--gpu'))
    .addOption(logLevelOption())
    .option('--serve', 'stay for job after job (service mode): each job runs in a fresh worker process');
  managedOptions(securityOptions(worker))
    .addHelpText(
      'after',
      `
The worker stays with its job through failures: when another member is lost
the coordinator tells it to join again, and when the coordinator itself
falls silent (killed, or the link cut) it joins again by itself, for
--coordinator-timeout seconds, so that dtrain coordinator --resume DIR finds
it. Exit codes: 0 the job finished (or the worker was not needed), 1 the
worker failed, or no coordinator came back in time, 2 bad flags, a bad key
file, or no key where one is needed.
A coordinator that is not on loopback needs the cluster key: --key FILE
(dtrain keys generate FILE, the coordinator's file), or --insecure.
Example: dtrain worker --connect tcp://10.0.0.1:5555 --key cluster.key`,
    )
    .action(async (flags) => exit(await workerCommand(flags)));
};
