/** The dtrain command line: parse, dispatch, turn errors into one clear line and an exit code. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { defineAttack } from './cli/attack.js';
import { defineBackends } from './cli/backends.js';
import { defineCancel } from './cli/cancel.js';
import { defineCoordinator } from './cli/coordinator.js';
import { defineJobs } from './cli/jobs.js';
import { defineKeys } from './cli/keys.js';
import type { CommandDefinition, SetExitCode } from './cli/options.js';
import { definePs } from './cli/ps.js';
import { defineRun } from './cli/run.js';
import { defineSample } from './cli/sample.js';
import { defineSchema } from './cli/schema.js';
import { defineStatus } from './cli/status.js';
import { defineSubmit } from './cli/submit.js';
import { defineWorker } from './cli/worker.js';
import { DtrainError, errorMessage } from './util/errors.js';
import { isLogLevel, setLogLevel } from './util/log.js';

/** The subcommands, in the order --help lists them. */
const COMMANDS: readonly CommandDefinition[] = [
  defineRun,
  defineCoordinator,
  defineWorker,
  definePs,
  defineSample,
  defineAttack,
  defineSubmit,
  defineStatus,
  defineJobs,
  defineCancel,
  defineBackends,
  defineKeys,
  defineSchema,
];

/** The package's own version: dist/src/cli.js sits two folders below package.json, in the repository and once installed. */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function buildProgram(exit: SetExitCode): Command {
  const program = new Command('dtrain')
    .description('Distributed data-parallel training for TensorFlow.js: a coordinator shards minibatches to worker processes that all-reduce gradients over a ring or through parameter-server shards.')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    // --log-level (or DTRAIN_LOG_LEVEL), on the commands that log: every logger the process makes keeps to it.
    .hook('preAction', (_program, action) => {
      const level: unknown = action.opts().logLevel;
      if (isLogLevel(level)) setLogLevel(level);
    });
  for (const define of COMMANDS) define(program, exit);
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await buildProgram((c) => (code = c)).parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`dtrain: ${errorMessage(err)}\n`);
    return err instanceof DtrainError ? err.exitCode : 1;
  }
}

process.exit(await main(process.argv));
