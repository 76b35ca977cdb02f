import { type Effects, type ObjectRef, objectKey } from '../sql/objects.js';

/** An object the applied migrations should have left, and the migration that made it. */
export interface Expectation {
  ref: ObjectRef;
  /** The file that created it (or renamed it to this name). */
  by: string;
  version: string;
}

const inSchema = (ref: ObjectRef, schema: string) => ref.type !== 'schema' && ref.type !== 'extension' && ref.schema === schema;
const onTable = (ref: ObjectRef, schema: string, table: string) =>
  (ref.type === 'column' && ref.schema === schema && ref.table === table) ||
  (ref.type === 'relation' && ref.kind === 'index' && ref.schema === schema && ref.table === table);

/**
 * Replays what the applied migrations did, in version order, and returns the
 * objects that must exist now. A later drop or rename removes the old name;
 * dropping a schema or a table takes what is in it along. After a migration
 * the parser could not follow (dynamic SQL), anything expected so far may be
 * gone for good reason: those objects are no longer expected. Validation
 * never reports missing what it cannot be sure should exist.
 */
export function expectedObjects(applied: ReadonlyArray<{ version: string; file: string; effects: Effects | null }>): Expectation[] {
  const expected = new Map<string, Expectation>();
  const removeWhere = (test: (ref: ObjectRef) => boolean) => {
    for (const [key, e] of expected) if (test(e.ref)) expected.delete(key);
  };
  for (const migration of applied) {
    const effects = migration.effects;
    if (!effects) continue;
    if (effects.opaque) expected.clear();
    for (const ref of effects.creates) expected.set(objectKey(ref), { ref, by: migration.file, version: migration.version });
    for (const { from, to } of effects.renames) {
      const moved = [...expected.values()].filter((e) => objectKey(e.ref) === objectKey(from) || movesWith(e.ref, from));
      for (const e of moved) {
        expected.delete(objectKey(e.ref));
        const ref = renamed(e.ref, from, to);
        expected.set(objectKey(ref), { ref, by: migration.file, version: migration.version });
      }
    }
    for (const ref of effects.drops) {
      expected.delete(objectKey(ref));
      if (ref.type === 'schema') removeWhere((r) => inSchema(r, ref.name));
      if (ref.type === 'relation' && ref.kind === 'table') removeWhere((r) => onTable(r, ref.schema, ref.name));
    }
    // CASCADE takes along whatever depended on it, unnamed: the views anywhere, and the
    // columns of a dropped type. Those are no longer expected rather than wrongly missed.
    if (effects.cascade) {
      const typeDropped = effects.drops.some((r) => r.type === 'type');
      removeWhere((r) => (r.type === 'relation' && (r.kind === 'view' || r.kind === 'materialized view')) || (typeDropped && r.type === 'column'));
    }
  }
  return [...expected.values()];
}

/** Columns and indexes follow their table; everything in a schema follows the schema. */
function movesWith(ref: ObjectRef, from: ObjectRef): boolean {
  if (from.type === 'schema') return inSchema(ref, from.name);
  if (from.type === 'relation' && from.kind === 'table') return onTable(ref, from.schema, from.name);
  return false;
}

function renamed(ref: ObjectRef, from: ObjectRef, to: ObjectRef): ObjectRef {
  if (objectKey(ref) === objectKey(from)) return to;
  if (from.type === 'schema' && to.type === 'schema' && ref.type !== 'schema' && ref.type !== 'extension') return { ...ref, schema: to.name };
  if (from.type === 'relation' && to.type === 'relation') {
    if (ref.type === 'column') return { ...ref, table: to.name };
    if (ref.type === 'relation') return { ...ref, table: to.name };
  }
  return ref;
}
