import { type ObjectRef, type Operation, refKey } from '../sql/operations.js';

/**
 * What the files say must exist once they have all run, replayed in order:
 * a later drop removes an object (a table its parts, a schema what is in
 * it), a rename or a move follows it. Baseline checks these exist before it
 * records the files; what DO blocks make is not named here, and is simply
 * recorded as the catalog has it. Pure.
 */
export function finalObjects(migrations: ReadonlyArray<{ file: string; operations: readonly Operation[] }>): Array<{ ref: ObjectRef; file: string }> {
  const expected = new Map<string, { ref: ObjectRef; file: string }>();
  const removeWhere = (test: (ref: ObjectRef) => boolean) => {
    for (const [key, e] of expected) if (test(e.ref)) expected.delete(key);
  };
  const within = (part: ObjectRef, ref: ObjectRef) =>
    ref.kind === 'schema' ? part.kind !== 'schema' && part.kind !== 'extension' && part.schema === ref.name : part.table === ref.name && part.schema === ref.schema;
  for (const { file, operations } of migrations) {
    for (const op of operations) {
      if (op.kind === 'create') {
        expected.set(refKey(op.object), { ref: op.object, file });
      } else if (op.kind === 'drop') {
        const dropped = op.object;
        removeWhere((ref) => refKey(ref) === refKey(dropped) || (dropped.args === undefined && refKey({ ...ref, args: undefined }) === refKey(dropped)) || within(ref, dropped));
      } else {
        const { from, to } = op;
        for (const [key, e] of [...expected]) {
          if (key === refKey(from)) {
            expected.delete(key);
            expected.set(refKey(to), { ref: to, file });
          } else if (from.kind !== 'schema' && within(e.ref, from)) {
            expected.delete(key);
            const moved = { ...e.ref, schema: to.schema, table: to.name };
            expected.set(refKey(moved), { ...e, ref: moved });
          }
        }
      }
    }
  }
  return [...expected.values()];
}
