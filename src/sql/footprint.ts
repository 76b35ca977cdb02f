import { type BodyParser, doBlockStatements } from './operations.js';
import { nodeKind, type Statement } from './statements.js';

/*
 * Which catalog objects a file can add, remove or rename, as names: the
 * catalog snapshot around a migration (catalog/listing.ts) is then taken of the
 * objects of those names and their parts (columns, constraints, indexes,
 * owned sequences, triggers, policies, partitions) instead of the whole
 * catalog, which would make applying a long history quadratic.
 *
 * A statement can only change the objects it names, and the parts of the
 * relations it names, except for the statements listed below: for those the
 * whole catalog is snapshotted (and for dynamic SQL, calls of functions that
 * are not built in, and CASCADE, which model/snapshot.ts decides from the
 * operations).
 */

/** Statements that add, remove or rename objects their text does not name (a DO block: where it runs dynamic SQL, or cannot be read). */
const UNNAMED_EFFECTS: ReadonlyMap<string, string> = new Map([
  ['CreateExtensionStmt', 'CREATE EXTENSION'],
  ['AlterExtensionStmt', 'ALTER EXTENSION'],
  ['AlterExtensionContentsStmt', 'ALTER EXTENSION'],
  ['ImportForeignSchemaStmt', 'IMPORT FOREIGN SCHEMA'],
  ['DropOwnedStmt', 'DROP OWNED'],
  ['ExecuteStmt', 'EXECUTE of a prepared statement'],
  ['CallStmt', 'CALL'],
]);

/** Statements that change rows, not the catalog: their names (and literals) are left out. */
const ROWS_ONLY = new Set([
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CopyStmt',
  'VariableSetStmt',
  'TransactionStmt',
  'LockStmt',
  'NotifyStmt',
]);

/** PostgreSQL's identifiers are at most 63 bytes: a longer string (a function body, a literal) names nothing. */
const MAX_IDENTIFIER = 63;

export type Mentioned = { names: string[] } | { all: string };

/**
 * The names a file's statements mention, or why only the whole catalog tells
 * what it changes. With the parser, a DO block is read as its statements
 * (without it, or where it runs dynamic SQL, the whole catalog).
 */
export function mentionedNames(statements: readonly Statement[], parser?: BodyParser): Mentioned {
  const names = new Set<string>();
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) collect(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const value of Object.values(node as Record<string, unknown>)) {
      if (typeof value === 'string') {
        if (value.length > 0 && Buffer.byteLength(value) <= MAX_IDENTIFIER) names.add(value);
      } else if (value && typeof value === 'object') collect(value);
    }
  };
  for (const statement of statements) {
    const kind = nodeKind(statement.node);
    if (kind === 'DoStmt') {
      const body = parser ? doBlockStatements(statement, parser) : undefined;
      if (!body || 'opaque' in body || body.dynamic.length > 0) return { all: 'a DO block' };
      const inner = mentionedNames(body.statements, parser);
      if ('all' in inner) return inner;
      for (const name of inner.names) names.add(name);
      continue;
    }
    const unnamed = UNNAMED_EFFECTS.get(kind);
    if (unnamed) return { all: unnamed };
    const n = (statement.node as unknown as Record<string, Record<string, unknown>>)[kind] ?? {};
    if (kind === 'CreateSchemaStmt' && !n.schemaname) return { all: 'CREATE SCHEMA AUTHORIZATION' };
    // SELECT ... INTO makes a table; any other SELECT only reads (its calls are judged from the operations).
    if (ROWS_ONLY.has(kind) || (kind === 'SelectStmt' && !n.intoClause)) continue;
    collect(statement.node);
  }
  return { names: [...names].sort() };
}
