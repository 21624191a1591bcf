/** `dtrain schema job`: the job file's JSON Schema, made from the registered job types' schemas. */
import { writeFileSync } from 'node:fs';
import { DEFAULT_JOB_TYPE, JOB_TYPES } from '../jobs/registry.js';
import { jobJsonSchema } from '../spec/json-schema.js';
import { errorMessage, UsageError } from '../util/errors.js';

export interface SchemaFlags {
  /** Write the schema to this file instead of stdout. */
  out?: string;
}

export async function schemaJobCommand(flags: SchemaFlags): Promise<number> {
  const text = `${JSON.stringify(jobJsonSchema(JOB_TYPES, DEFAULT_JOB_TYPE), null, 2)}\n`;
  if (flags.out === undefined) {
    // Resolved once written: the CLI ends the process right after, and a long schema must reach the pipe whole.
    await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
    return 0;
  }
  try {
    writeFileSync(flags.out, text);
  } catch (err) {
    throw new UsageError(`cannot write ${flags.out}: ${errorMessage(err)}`, { cause: err });
  }
  return 0;
}
