import { describeRef, type ObjectRef, type Operation, refKey } from '../sql/operations.js';
import type { Problem } from './plan.js';

/** A pending migration as drift reads it. */
export interface PendingOperations {
  path: string;
  version: string;
  operations: readonly Operation[];
  /** Run again by --repair: it is recorded already, so baseline would do nothing for it. */
  rerun?: boolean;
}

/** The refs whose existence drift needs: what pending migrations create without IF NOT EXISTS. */
export function strictCreates(pending: readonly PendingOperations[]): ObjectRef[] {
  return pending.flatMap((m) =>
    m.operations.flatMap((op) => (op.kind === 'create' && !op.ifNotExists ? [op.object] : [])),
  );
}

/**
 * The seed's "column already exists": a pending migration creates, without
 * IF NOT EXISTS, an object the database already has. It would fail and block
 * every later migration, so it is named before anything runs. Judged as
 * PostgreSQL runs the files, in order: what an earlier statement of the run
 * dropped, renamed or moved away is no longer there, nor what the drop took
 * along (a table's indexes and other parts, a schema's objects: made again,
 * they are new); a function is its signature, so a new overload is no
 * drift. Pure.
 */
export function checkDrift(
  set: string,
  pending: readonly PendingOperations[],
  existing: ReadonlySet<string>,
  creationSchema: string,
  /** refKey (raw) of an index that exists -> its table, in the same schema. */
  indexTables: ReadonlyMap<string, string> = new Map(),
): Problem[] {
  const problems: Problem[] = [];
  const key = (ref: ObjectRef) => refKey(ref, creationSchema);
  const existsNow = new Set<string>();
  for (const m of pending)
    for (const op of m.operations)
      if (op.kind === 'create' && !op.ifNotExists && existing.has(refKey(op.object)))
        existsNow.add(key(op.object));
  const gone = new Set<string>();
  // `DROP FUNCTION f` without arguments drops the one function of that name, whatever its signature.
  const goneByName = new Set<string>();
  // What is dropped here takes along what was in the catalog under it, for the rest of the run.
  const droppedRelations = new Set<string>();
  const droppedSchemas = new Set<string>();
  const schemaOf = (ref: ObjectRef) => ref.schema || creationSchema;
  const tableOf = (ref: ObjectRef): ObjectRef | undefined => {
    if (ref.kind === 'index') {
      const table = indexTables.get(refKey(ref));
      return table === undefined ? undefined : { ...ref, kind: 'table', name: table };
    }
    return ref.table === undefined ? undefined : { ...ref, kind: 'table', name: ref.table };
  };
  const takenAlong = (ref: ObjectRef) => {
    if (droppedSchemas.has(schemaOf(ref))) return true;
    const table = tableOf(ref);
    return table !== undefined && droppedRelations.has(key(table));
  };
  const isGone = (ref: ObjectRef) =>
    gone.has(key(ref)) || goneByName.has(key({ ...ref, args: undefined })) || takenAlong(ref);
  for (const migration of pending) {
    // What it makes that the database lacks: baseline would record it as made, so its hint is not offered.
    const unmade = migration.operations.find(
      (op) => op.kind === 'create' && !op.ifNotExists && !existing.has(refKey(op.object)),
    );
    for (const op of migration.operations) {
      if (op.kind === 'drop') {
        (op.object.args === undefined ? goneByName : gone).add(key(op.object));
        if (op.object.kind === 'schema') droppedSchemas.add(op.object.name);
        else if (op.object.kind === 'table' || op.object.kind === 'materialized view')
          droppedRelations.add(key(op.object));
      } else if (op.kind === 'rename' || op.kind === 'move') {
        gone.add(key(op.from));
        gone.delete(key(op.to));
      } else if (
        op.kind === 'create' &&
        !op.ifNotExists &&
        existsNow.has(key(op.object)) &&
        !isGone(op.object)
      ) {
        problems.push({
          kind: 'drift',
          message:
            `Set "${set}": ${migration.path}:${op.at.line}:${op.at.column} creates ${describeRef(op.object)}, which already exists: ` +
            `the migration would fail ("already exists") and block every later one.`,
          // baseline --version records every untracked file up to it: offered only when no earlier one is pending.
          hint: migration.rerun
            ? `Make it re-runnable (IF NOT EXISTS, OR REPLACE, or a guarded DO block): --repair runs it again. Then run: schemata migrate ${set} --repair`
            : unmade?.kind === 'create'
              ? `Make it re-runnable (IF NOT EXISTS, OR REPLACE, or a guarded DO block): the database lacks ${describeRef(unmade.object)} (${migration.path}:${unmade.at.line}), so recording the migration without running it would record what never ran.`
              : migration === pending[0]
                ? `Make it re-runnable (IF NOT EXISTS, OR REPLACE, or a guarded DO block); or, if the database already has everything this migration makes, ` +
                  `record it without running: schemata baseline ${set} --version ${migration.version}`
                : `Make it re-runnable (IF NOT EXISTS, OR REPLACE, or a guarded DO block): the migrations before it are pending too, so it cannot be recorded alone.`,
        });
      } else if (op.kind === 'create') {
        gone.delete(key(op.object));
      }
    }
  }
  return problems;
}
