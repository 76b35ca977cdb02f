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

/*
 * Fields whose names are never an object the statement can add, drop or
 * rename: a column is reached through its relation, which the statement
 * names; a type a column or cast uses and a function an expression calls are
 * only used (calls are judged from the operations: model/snapshot.ts). Each
 * name in the scope costs the listing index probes in pg_class, pg_proc and
 * pg_type before and after every migration (`id`, `name`, `text` and `int8`
 * match dozens of pg_catalog functions): a tenth of schemata's own server work
 * for a one-table migration, measured by the backend's CPU time.
 */
const USED_ONLY: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['ColumnDef', new Set(['colname', 'typeName'])],
  ['ColumnRef', new Set(['fields'])],
  ['FuncCall', new Set(['funcname'])],
  ['TypeCast', new Set(['typeName'])],
  ['IndexElem', new Set(['name'])],
  // The table a foreign key references gains only internal triggers, which the listing leaves out: the
  // constraint is the referencing table's. Listing the referenced table with all its parts, before and
  // after, was a quarter of the snapshot of a one-table migration with a foreign key.
  ['Constraint', new Set(['keys', 'including', 'fk_attrs', 'pk_attrs', 'pktable'])],
]);

/*
 * Fields of the parse tree whose string is an enumeration's value or a
 * one-letter code (`CONSTR_PRIMARY`, `SORTBY_DEFAULT`, relpersistence `p`,
 * an access method such as `btree`), never an object's name: the
 * enumeration-typed fields of @pgsql/types, and the character codes. Each
 * probed pg_class, pg_proc and pg_type in both listings of every migration.
 */
const CODES = new Set([
  'action',
  'aggsplit',
  'behavior',
  'boolop',
  'booltesttype',
  'btype',
  'cmptype',
  'coerceformat',
  'coercionformat',
  'coltype',
  'commandType',
  'context',
  'contype',
  'convertformat',
  'ctematerialized',
  'defaction',
  'direction',
  'encoding',
  'event',
  'format_type',
  'funcformat',
  'functype',
  'item_type',
  'jointype',
  'keywordKind',
  'kind',
  'limitOption',
  'list_type',
  'matchKind',
  'mode',
  'nulls_ordering',
  'nulltesttype',
  'objectType',
  'objtype',
  'onCommit',
  'oncommit',
  'op',
  'option',
  'ordering',
  'override',
  'paramkind',
  'pubobjtype',
  'querySource',
  'quotes',
  'relabelformat',
  'relationType',
  'removeType',
  'renameType',
  'roletype',
  'row_format',
  'rtekind',
  'sortby_dir',
  'sortby_nulls',
  'stmt_type',
  'strategy',
  'strength',
  'subLinkType',
  'subtype',
  'target',
  'targtype',
  'token',
  'type',
  'varreturningtype',
  'waitPolicy',
  'withCheckOption',
  'wrapper',
  'xmloption',
  // character codes and access methods
  'relpersistence',
  'relkind',
  'fk_matchtype',
  'fk_upd_action',
  'fk_del_action',
  'generated_when',
  'identity',
  'storage',
  'accessMethod',
  'access_method',
]);

/** A type of pg_catalog (`bigint` is pg_catalog.int8): the listing never holds one. */
const isSystemTypeName = (node: Record<string, unknown>) => {
  const [first] = Array.isArray(node.names) ? (node.names as unknown[]) : [];
  return (
    'typemod' in node &&
    (first as { String?: { sval?: unknown } } | undefined)?.String?.sval === 'pg_catalog'
  );
};

export type Mentioned = { names: string[] } | { all: string };

/**
 * The names a file's statements mention, or why only the whole catalog tells
 * what it changes. With the parser, a DO block is read as its statements
 * (without it, or where it runs dynamic SQL, the whole catalog).
 */
export function mentionedNames(statements: readonly Statement[], parser?: BodyParser): Mentioned {
  const names = new Set<string>();
  const collect = (node: unknown, skipped?: ReadonlySet<string>): void => {
    if (Array.isArray(node)) {
      for (const item of node) collect(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const fields = node as Record<string, unknown>;
    if (isSystemTypeName(fields)) return;
    for (const [key, value] of Object.entries(fields)) {
      if (skipped?.has(key)) continue;
      if (typeof value === 'string') {
        if (CODES.has(key)) continue;
        if (value.length > 0 && Buffer.byteLength(value) <= MAX_IDENTIFIER) names.add(value);
      } else if (value && typeof value === 'object') collect(value, USED_ONLY.get(key));
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
