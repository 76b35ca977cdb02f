import { type Classification, classify } from './classify.js';
import { type Effects, effectsOf, type StrictCreate } from './objects.js';
import { type Parser, parseFile, scan, type Statement, type SyntaxProblem } from './statements.js';

export type ReadMigration =
  | { ok: true; statements: Statement[]; classification: Classification; effects: Effects; strictCreates: StrictCreate[] }
  | { ok: false; problem: SyntaxProblem };

/** Everything schemata reads from a migration's SQL: its statements, their classification and their effects. */
export function readMigration(parser: Parser, sql: string): ReadMigration {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) return parsed;
  const classification = classify(parsed.statements, (body) => scan(parser, body));
  const { effects, strictCreates } = effectsOf(parsed.statements, classification.opaque.length > 0);
  return { ok: true, statements: parsed.statements, classification, effects, strictCreates };
}
