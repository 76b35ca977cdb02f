import type { SnapshotScope } from '../catalog/listing.js';
import type { Mentioned } from '../sql/footprint.js';
import type { Operation, RefKind } from '../sql/operations.js';

/*
 * What the catalog snapshot around a migration covers (its effects are the
 * difference): the objects of the names its statements mention and their
 * parts, or the whole catalog where an object the text does not name can
 * appear, go or change its name.
 */

/*
 * Renaming or moving a schema renames every object in it. (Renaming or moving a table, view, type or domain
 * renames the functions that take or return its type: the snapshot of its names lists those too, through
 * pg_depend, catalog/listing.ts.)
 */
const RENAMES_OTHERS: ReadonlySet<RefKind> = new Set(['schema']);

/** Built-in functions that run the SQL text they are given. */
const RUNS_SQL_TEXT = new Set(['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema']);

/**
 * `functions`: the names of every function outside the system schemas, in
 * the catalog or made by the run (undefined: not read). A call of any other
 * name, unqualified or pg_catalog's, is a built-in one, which makes no object.
 */
export function snapshotScope(
  mentioned: Mentioned,
  operations: readonly Operation[],
  functions: ReadonlySet<string> | undefined,
): SnapshotScope {
  if ('all' in mentioned) return 'all';
  const builtIn = (schema: string, name: string) =>
    functions !== undefined &&
    (schema === '' || schema === 'pg_catalog') &&
    !functions.has(name) &&
    !RUNS_SQL_TEXT.has(name);
  for (const op of operations) {
    if (op.kind === 'opaque' || op.kind === 'drop-owned') return 'all';
    // A file that moves its search path can reach, unqualified, any schema.
    if (op.kind === 'search-path') return 'all';
    if (op.kind === 'drop' && op.cascade) return 'all';
    if ((op.kind === 'rename' || op.kind === 'move') && RENAMES_OTHERS.has(op.from.kind))
      return 'all';
    // An unqualified call carries the schema of the file's search_path for drift: only what it names counts here.
    if (
      op.kind === 'call' &&
      !builtIn(op.function.unqualified ? '' : op.function.schema, op.function.name)
    )
      return 'all';
  }
  return mentioned.names;
}

/** The names of the functions and procedures the migrations make. */
export function functionsMade(
  migrations: ReadonlyArray<{ operations: readonly Operation[] }>,
): string[] {
  return migrations.flatMap((m) =>
    m.operations.flatMap((op) =>
      op.kind === 'create' && (op.object.kind === 'function' || op.object.kind === 'procedure')
        ? [op.object.name]
        : [],
    ),
  );
}
