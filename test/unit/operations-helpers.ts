import { type Operation, operationsOf } from '../../src/sql/operations.js';
import { loadParser } from '../../src/sql/parse.js';
import { parseFile } from '../../src/sql/statements.js';

const parser = await loadParser();

/** What a file does to objects, in order, as the engine reads it. */
export function operationsOfSql(sql: string): Operation[] {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok)
    throw new Error(`expected ${JSON.stringify(sql)} to parse, got ${parsed.problem.message}`);
  return operationsOf(parsed.statements, parser);
}
