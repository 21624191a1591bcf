/** dtrain schema job: the job file's JSON Schema, for editors and other tools. */
import { schemaJobCommand } from '../commands/schema.js';
import { DEFAULT_JOB_TYPE } from '../jobs/registry.js';
import type { CommandDefinition } from './options.js';

export const defineSchema: CommandDefinition = (program, exit) => {
  const schema = program.command('schema').description('print the JSON Schema of a dtrain file, for editors and other tools that check files as you write them');
  schema
    .command('job')
    .description('print the JSON Schema (draft-07) of a job file, made from the job types this dtrain knows: every key, its type, range and default')
    .option('-o, --out <file>', 'write the schema to FILE instead of stdout')
    .addHelpText(
      'after',
      `
The schema is the union of the job types' schemas; each refuses keys it
does not know. A job without type is of the default type (${DEFAULT_JOB_TYPE}).
dtrain checks more when it loads a job than a schema can say: keys against
each other (train.batchSize against cluster.workers, data.testPath with
data.testFraction…) and files that must exist.
Editors: VS Code with the YAML extension reads a schema named in the job
file's first line, # yaml-language-server: $schema=job.schema.json
Exit codes: 0 printed (or written), 2 bad flags, or --out cannot be written.
Examples:
  dtrain schema job > job.schema.json
  dtrain schema job --out job.schema.json`,
    )
    .action(async (flags) => exit(await schemaJobCommand(flags)));
};
