// `orx schema`: the published JSON Schemas, printed as they are, and the list of them.
import {readPublishedSchema, readResultSchema, resultSchemaNames} from '../config/schema.js';
import {suggestion} from '../config/suggest.js';
import {OrxError} from '../errors.js';

export type PublishedSchemaName = 'config' | 'plan' | 'policy';

export interface SchemaEntry {
  /** what to pass to `orx schema`: config, plan, policy, error, or `result COMMAND` */
  name: string;
  description: string;
}

const PUBLISHED: Record<PublishedSchemaName, string> = {
  config: 'orchestration.yml, the workspace configuration',
  plan: 'a saved plan (`orx plan -out FILE`)',
  policy: 'a policy file (policies/*.yaml)',
};

const ERROR = 'error';

export const publishedSchema = (which: PublishedSchemaName): Record<string, unknown> => readPublishedSchema(which);

/** The error envelope every command prints with --json when it fails. */
export const errorSchema = (): Record<string, unknown> => readResultSchema(ERROR)!;

/** A command's --json document; COMMAND as its id (`dr backup`, `dr:backup`) or with dashes (`dr-backup`). */
export function resultSchema(command: string): Record<string, unknown> {
  const name = command.trim().replace(/[\s:]+/g, '-');
  const names = resultSchemaNames().filter((n) => n !== ERROR);
  const schema = names.includes(name) ? readResultSchema(name) : undefined;
  if (!schema)
    throw new OrxError({
      code: 'not_found',
      message: `no result schema for "${command}"${suggestion(name, names)}`,
      actions: ['See `orx schema --list`.'],
    });
  return schema;
}

/** Every schema `orx schema` prints, with a line on what it describes. */
export function listSchemas(): SchemaEntry[] {
  const results = resultSchemaNames().filter((n) => n !== ERROR);
  return [
    ...Object.entries(PUBLISHED).map(([name, description]) => ({name, description})),
    {name: ERROR, description: String(errorSchema().title)},
    ...results.map((n) => ({name: `result ${n}`, description: String(readResultSchema(n)!.title)})),
  ];
}
