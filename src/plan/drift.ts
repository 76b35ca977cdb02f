import { describeObject, type Effects, objectKey, type StrictCreate } from '../sql/objects.js';
import type { Problem } from './plan.js';

/**
 * The seed's "column already exists": a pending migration creates, without
 * IF NOT EXISTS, an object the database already has. It would fail and block
 * every later migration, so it is named before anything runs. What an
 * earlier pending migration drops or renames away is not drift.
 */
export function checkDrift(
  set: string,
  pending: ReadonlyArray<{ path: string; version: string; strictCreates: readonly StrictCreate[]; effects: Effects }>,
  existing: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  const goneInRun = new Set<string>();
  for (const migration of pending) {
    for (const create of migration.strictCreates) {
      const key = objectKey(create.ref);
      if (!existing.has(key) || goneInRun.has(key)) continue;
      problems.push({
        kind: 'drift',
        message:
          `Set "${set}": ${migration.path}:${create.at.line}:${create.at.column} creates ${describeObject(create.ref)}, which already exists: ` +
          `the migration would fail ("already exists") and block every later one.`,
        hint:
          `Make it re-runnable (IF NOT EXISTS, or a guarded DO block); or, if the database already has everything this migration makes, ` +
          `record it without running: schemata baseline ${set} --version ${migration.version}`,
      });
    }
    for (const ref of migration.effects.drops) goneInRun.add(objectKey(ref));
    for (const { from } of migration.effects.renames) goneInRun.add(objectKey(from));
  }
  return problems;
}
