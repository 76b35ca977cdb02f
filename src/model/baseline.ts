import { type ObjectRef, type Operation, refKey as keyOf } from '../sql/operations.js';
import { type CatalogModel, creationSchema, refExists } from './catalog.js';

/** What baseline requires by name: objects whose life the statements tell. */
const REQUIRED: ReadonlySet<string> = new Set([
  'index',
  'constraint',
  'trigger',
  'policy',
  'schema',
  'table',
  'view',
  'materialized view',
  'sequence',
  'function',
  'procedure',
  'type',
  'domain',
  'extension',
  'column',
]);

/** The parts of a table that a DROP COLUMN of it may take along, unnamed (an index or constraint over the column). */
const TAKEN_WITH_A_COLUMN: ReadonlySet<string> = new Set([
  'index',
  'constraint',
  'trigger',
  'policy',
]);

/** What a table's parts name as their table: a column's name is no table. */
const HAS_PARTS: ReadonlySet<string> = new Set(['table', 'view', 'materialized view']);

/**
 * What the files say must exist once they have all run, replayed in order:
 * a later drop removes an object (a table its parts, a schema what is in
 * it), a rename or a move follows it. Baseline checks these exist before it
 * records the files. A table's indexes, constraints, triggers and policies
 * are required by name, unless a later DROP COLUMN of the table may have
 * taken them along; what a CASCADE may have taken is not; what a DO block
 * makes is required only where it is a schema, table or other whole object
 * (its parts are often made under a condition). All of them are recorded as
 * the catalog has them. Pure.
 */
export function finalObjects(
  migrations: ReadonlyArray<{ file: string; operations: readonly Operation[] }>,
  creationSchema: string,
): Array<{ ref: ObjectRef; file: string }> {
  const refKey = (ref: ObjectRef) => keyOf(ref, creationSchema);
  const expected = new Map<string, { ref: ObjectRef; file: string }>();
  const removeWhere = (test: (ref: ObjectRef) => boolean) => {
    for (const [key, e] of expected) if (test(e.ref)) expected.delete(key);
  };
  const schemaOf = (ref: ObjectRef) => ref.schema || creationSchema;
  const within = (part: ObjectRef, ref: ObjectRef) =>
    ref.kind === 'schema'
      ? part.kind !== 'schema' && part.kind !== 'extension' && schemaOf(part) === ref.name
      : HAS_PARTS.has(ref.kind) &&
        part.table !== undefined &&
        part.table === ref.name &&
        schemaOf(part) === schemaOf(ref);
  for (const { file, operations } of migrations) {
    for (const op of operations) {
      if (op.kind === 'create') {
        const guarded = op.via !== undefined && TAKEN_WITH_A_COLUMN.has(op.object.kind);
        if (REQUIRED.has(op.object.kind) && !guarded)
          expected.set(refKey(op.object), { ref: op.object, file });
      } else if (op.kind === 'drop') {
        const dropped = op.object;
        if (dropped.kind === 'column')
          removeWhere(
            (ref) =>
              TAKEN_WITH_A_COLUMN.has(ref.kind) &&
              ref.table === dropped.table &&
              schemaOf(ref) === schemaOf(dropped),
          );
        removeWhere(
          (ref) =>
            refKey(ref) === refKey(dropped) ||
            (dropped.args === undefined &&
              refKey({ ...ref, args: undefined }) === refKey(dropped)) ||
            within(ref, dropped),
        );
        if (op.cascade)
          removeWhere(
            (ref) =>
              ref.kind === 'view' ||
              ref.kind === 'materialized view' ||
              (dropped.kind !== 'table' && ref.kind === 'column'),
          );
      } else if (op.kind === 'rename' || op.kind === 'move') {
        const { from, to } = op;
        for (const [key, e] of [...expected]) {
          if (key === refKey(from)) {
            expected.delete(key);
            expected.set(refKey(to), { ref: to, file });
          } else if (within(e.ref, from)) {
            expected.delete(key);
            const moved =
              from.kind === 'schema'
                ? { ...e.ref, schema: to.name }
                : { ...e.ref, schema: to.schema, table: to.name };
            expected.set(refKey(moved), { ...e, ref: moved });
          }
        }
      }
    }
  }
  return [...expected.values()];
}

/**
 * The latest version V such that every object the migrations up to V make
 * (as baseline requires them) exists: what `baseline <set> --version V`
 * records. Undefined when not even the first migration's objects all exist.
 * Pure.
 */
export function adoptableUpTo(
  model: CatalogModel,
  migrations: ReadonlyArray<{ version: string; file: string; operations: readonly Operation[] }>,
): string | undefined {
  const schema = creationSchema(model);
  let upTo: string | undefined;
  migrations.forEach((m, i) => {
    if (finalObjects(migrations.slice(0, i + 1), schema).every((e) => refExists(model, e.ref)))
      upTo = m.version;
  });
  return upTo;
}

/** The objects the migrations make (as baseline requires them) that the catalog lacks. Pure. */
export function missingObjects(
  model: CatalogModel,
  migrations: ReadonlyArray<{ file: string; operations: readonly Operation[] }>,
): Array<{ ref: ObjectRef; file: string }> {
  return finalObjects(migrations, creationSchema(model)).filter((e) => !refExists(model, e.ref));
}

/**
 * The first migration some of whose objects exist and some do not: `migrate`
 * stops on what exists (drift), `baseline` would record what never ran.
 * Undefined when each migration's objects all exist or none does. Pure.
 */
export function partlyMade(
  model: CatalogModel,
  migrations: ReadonlyArray<{ file: string; operations: readonly Operation[] }>,
): { file: string; present: ObjectRef[]; missing: ObjectRef[] } | undefined {
  const schema = creationSchema(model);
  for (const m of migrations) {
    const objects = finalObjects([m], schema).map((e) => e.ref);
    const present = objects.filter((ref) => refExists(model, ref));
    if (present.length > 0 && present.length < objects.length)
      return {
        file: m.file,
        // A column of a table that exists is named with its table.
        present: present.filter(
          (ref) =>
            ref.kind !== 'column' ||
            !present.some(
              (t) => t.kind === 'table' && t.schema === ref.schema && t.name === ref.table,
            ),
        ),
        missing: objects.filter((ref) => !refExists(model, ref)),
      };
  }
  return undefined;
}
