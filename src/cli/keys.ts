/** dtrain keys generate FILE: a cluster key. */
import { keysGenerateCommand } from '../commands/keys.js';
import type { CommandDefinition } from './options.js';

export const defineKeys: CommandDefinition = (program, exit) => {
  const keys = program.command('keys').description('make the cluster key that coordinators, workers and ps shards must hold to take part in a job');
  keys
    .command('generate')
    .description('write a new cluster key (a CURVE key pair) to FILE, readable by its owner only; an existing file is never overwritten')
    .argument('<file>', 'where to write the key, e.g. cluster.key')
    .addHelpText(
      'after',
      `
Copy the file to every host of the cluster over a channel you trust (scp),
keep it mode 600, and start every process with --key FILE (or
DTRAIN_KEY_FILE=FILE). A process without it cannot join, and cannot read
the control traffic; a worker or shard whose key leaked is shut out by
making a new key and restarting the cluster with it. dtrain run needs none:
it makes a fresh key for its own processes each time.
Exit codes: 0 written, 2 the file exists or cannot be written.
Example: dtrain keys generate /etc/dtrain/cluster.key`,
    )
    .action((file: string) => exit(keysGenerateCommand(file)));
};
