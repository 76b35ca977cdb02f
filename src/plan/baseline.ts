import { type ObjectRef, type Operation, refKey as keyOf } from '../sql/operations.js';

/** What baseline requires by name: objects whose life the statements alone tell. */
const REQUIRED: ReadonlySet<string> = new Set([
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

/**
 * What the files say must exist once they have all run, replayed in order:
 * a later drop removes an object (a table its columns, a schema what is in
 * it), a rename or a move follows it. Baseline checks these exist before it
 * records the files. Indexes, constraints, triggers and policies are not
 * required by name (a DROP COLUMN takes its indexes along, unnamed), nor is
 * what a CASCADE may have taken; what DO blocks make is not named here. All
 * of them are recorded as the catalog has them. Pure.
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
      : part.table !== undefined && part.table === ref.name && schemaOf(part) === schemaOf(ref);
  for (const { file, operations } of migrations) {
    for (const op of operations) {
      if (op.kind === 'create') {
        if (REQUIRED.has(op.object.kind)) expected.set(refKey(op.object), { ref: op.object, file });
      } else if (op.kind === 'drop') {
        const dropped = op.object;
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
