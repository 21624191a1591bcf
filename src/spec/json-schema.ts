/**
 * The job file as a JSON Schema (draft-07), made from the job types' zod
 * schemas by zod-to-json-schema, for editors and other tools (`dtrain schema
 * job`). Generic: the entry point passes the registered types.
 *
 * The schema is the union of the types' schemas, each strict (an unknown key
 * is refused); the default type's branch leaves `type` optional, as the job
 * file does. What zod checks across keys (superRefine: the global batch
 * against cluster.workers, testPath with testFraction…) and what needs the
 * disk (files that must exist) are not in it: dtrain still makes those
 * checks when it loads a job. Every sub-schema is written out where it is
 * used (no $ref), so that each branch reads, and validates, on its own.
 */
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import type { JobTypeSpec } from './job-spec.js';

/** A JSON Schema document: plain JSON. */
export type JsonSchema = Record<string, unknown>;

export const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

/** The JSON Schema of a job file of the given types; `defaultType` is the type of a file without `type`. */
export function jobJsonSchema(types: readonly JobTypeSpec[], defaultType: string): JsonSchema {
  if (types.length === 0) throw new Error('jobJsonSchema: no job types');
  if (!types.some((t) => t.name === defaultType)) throw new Error(`jobJsonSchema: the default type ${JSON.stringify(defaultType)} is not among the types`);
  const branches = types.map((t) => branchOf(t, t.name === defaultType));
  const union = branches.length === 1 ? branches[0] : z.union(branches as [z.AnyZodObject, z.AnyZodObject, ...z.AnyZodObject[]]);
  const { $schema: _draft, ...body } = zodToJsonSchema(union, { target: 'jsonSchema7', $refStrategy: 'none', effectStrategy: 'input' }) as JsonSchema;
  const names = types.map((t) => t.name).join(', ');
  return {
    $schema: JSON_SCHEMA_DRAFT,
    title: 'dtrain job file',
    description:
      `A dtrain job, as a YAML or JSON file. \`type\` picks the job type (${names}); a job without it is of type ${defaultType}. ` +
      'File paths are relative to the job file. dtrain checks more when it loads a job than this schema can say ' +
      '(keys checked against each other, such as train.batchSize against cluster.workers, and files that must exist).',
    ...body,
  };
}

/** One type's branch of the union: its strict schema, with `type` optional for the default type. */
function branchOf(t: JobTypeSpec, isDefault: boolean): z.AnyZodObject {
  const typeKey = (t.schema.shape as Record<string, z.ZodTypeAny>).type;
  if (!typeKey) throw new Error(`jobJsonSchema: the schema of job type ${t.name} has no type key`);
  const schema = isDefault ? t.schema.extend({ type: typeKey.optional() }) : t.schema;
  return schema.describe(isDefault ? `a job of type ${t.name}, the default: \`type\` may be left out` : `a job of type ${t.name}`);
}
