import { type Classification, classify } from './classify.js';
import { type Mentioned, mentionedNames } from './footprint.js';
import { type Operation, operationsOf } from './operations.js';
import { type Parser, parseFile, type Statement, type SyntaxProblem } from './statements.js';

export type ReadMigration =
  | { ok: true; statements: Statement[]; classification: Classification; operations: Operation[]; mentioned: Mentioned }
  | { ok: false; problem: SyntaxProblem };

/** Everything schemata reads from a migration's SQL: its statements, their classification and what they do to objects, in order. */
export function readMigration(parser: Parser, sql: string): ReadMigration {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) return parsed;
  const classification = classify(parsed.statements, (text) => parser.parsePlPgSQLSync(text));
  return { ok: true, statements: parsed.statements, classification, operations: operationsOf(parsed.statements, parser), mentioned: mentionedNames(parsed.statements) };
}
