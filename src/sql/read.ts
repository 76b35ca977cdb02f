import {
  type Classification,
  nonTransactionalOf,
  copiesFromClientOf,
  resetsAllOf,
  runsInTransaction,
  transactionControlOf,
} from './classify.js';
import { type Mentioned, mentionedNames } from './footprint.js';
import { type Operation, operationsReader } from './operations.js';
import {
  markerComments,
  nodeKind,
  type Parser,
  parsePieces,
  type Statement,
  type SyntaxProblem,
} from './statements.js';

export type ReadMigration =
  | {
      ok: true;
      statements: Statement[];
      classification: Classification;
      operations: Operation[];
      mentioned: Mentioned;
    }
  | { ok: false; problem: SyntaxProblem };

/**
 * Everything schemata reads from a migration's SQL: its statements, their
 * classification and what they do to objects, in order. Read piece by piece
 * (sql/statements.ts parsePieces): `each` sees every statement with its
 * syntax tree and operations, after which only a TransactionStmt and a SET
 * TRANSACTION keep their trees (engine/apply.ts needs their kind and options:
 * they open a transaction); the others keep their kind alone, so that a
 * long file or history does not stay in memory as trees.
 */
export function readMigration(
  parser: Parser,
  sql: string,
  each?: (statement: Statement, operations: readonly Operation[]) => void,
): ReadMigration {
  const steps = reading(parser, sql, each);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * readMigration for a file long enough to be read in several pieces: between
 * pieces it tells how far it got (the share of the file's characters) and
 * lets the event loop run, so that a task list can show it.
 */
export async function readMigrationShowing(
  parser: Parser,
  sql: string,
  progress: (done: number) => void,
): Promise<ReadMigration> {
  const steps = reading(parser, sql);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    progress(step.value);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function* reading(
  parser: Parser,
  sql: string,
  each?: (statement: Statement, operations: readonly Operation[]) => void,
  outsideTransaction = false,
): Generator<number, ReadMigration> {
  const plpgsql = (text: string) => parser.parsePlPgSQLSync(text);
  const read = operationsReader(parser, { outsideTransaction });
  const statements: Statement[] = [];
  const operations: Operation[] = [];
  const nonTransactional: Classification['nonTransactional'] = [];
  const resetsAll: Statement[] = [];
  const copiesFromClient: Statement[] = [];
  const names = new Set<string>();
  let all: string | undefined;
  for (const piece of parsePieces(parser, sql)) {
    if ('problem' in piece) return { ok: false, problem: piece.problem };
    const ops = read(piece.statements);
    nonTransactional.push(...nonTransactionalOf(piece.statements, plpgsql));
    resetsAll.push(...resetsAllOf(piece.statements));
    copiesFromClient.push(...copiesFromClientOf(piece.statements));
    const mentioned = mentionedNames(piece.statements, parser);
    if ('all' in mentioned) all ??= mentioned.all;
    else for (const name of mentioned.names) names.add(name);
    if (each) {
      const at = new Map<string, Operation[]>();
      for (const op of ops)
        at.set(`${op.at.line}:${op.at.column}`, [
          ...(at.get(`${op.at.line}:${op.at.column}`) ?? []),
          op,
        ]);
      for (const statement of piece.statements)
        each(statement, at.get(`${statement.at.line}:${statement.at.column}`) ?? []);
    }
    for (const statement of piece.statements) {
      const kind = nodeKind(statement.node);
      if (kind !== 'TransactionStmt' && !isSetTransaction(statement))
        statement.node = keptKind(kind);
    }
    statements.push(...piece.statements);
    operations.push(...ops);
    yield piece.statements.length > 0
      ? piece.statements[piece.statements.length - 1]!.end / sql.length
      : 1;
  }
  const classification = {
    nonTransactional,
    resetsAll,
    copiesFromClient,
    ...transactionControlOf(statements),
  };
  // A SET LOCAL outside the file's own blocks lasts until schemata's COMMIT, or ends with its own statement where the
  // file runs outside schemata's transaction, which only the whole file tells: read once more as it runs (rare).
  if (
    !outsideTransaction &&
    read.dependsOnTransaction() &&
    !runsInTransaction(classification, markerComments(parser, sql))
  )
    return yield* reading(parser, sql, undefined, true);
  return {
    ok: true,
    statements,
    classification,
    operations,
    mentioned: all !== undefined ? { all } : { names: [...names].sort() },
  };
}

const keptKinds = new Map<string, Statement['node']>();

/** A tree's stand-in that keeps its kind alone: one frozen node per kind, shared by every statement of it. */
function keptKind(kind: string): Statement['node'] {
  let node = keptKinds.get(kind);
  if (!node) {
    node = Object.freeze({ [kind]: Object.freeze({}) }) as Statement['node'];
    keptKinds.set(kind, node);
  }
  return node;
}

/** `SET TRANSACTION ...` (a VariableSetStmt named TRANSACTION). */
function isSetTransaction(statement: Statement): boolean {
  const node = statement.node as { VariableSetStmt?: { name?: string } };
  return node.VariableSetStmt?.name === 'TRANSACTION';
}
