import { describeRef, type ObjectRef, type Operation, refKey } from '../sql/operations.js';
import type { Problem } from './plan.js';

/** A pending migration as drift reads it. */
export interface PendingOperations {
  path: string;
  version: string;
  operations: readonly Operation[];
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
 * dropped, renamed or moved away is no longer there; a function is its
 * signature, so a new overload is no drift. Pure.
 */
export function checkDrift(
  set: string,
  pending: readonly PendingOperations[],
  existing: ReadonlySet<string>,
  creationSchema: string,
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
  const isGone = (ref: ObjectRef) =>
    gone.has(key(ref)) || goneByName.has(key({ ...ref, args: undefined }));
  for (const migration of pending) {
    for (const op of migration.operations) {
      if (op.kind === 'drop') {
        (op.object.args === undefined ? goneByName : gone).add(key(op.object));
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
          hint:
            migration === pending[0]
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
