import { relative } from 'node:path';
import type { MigrationFile } from '../config/discover.js';
import type { Client } from './connect.js';
import {
  type AdoptedFrom,
  recordWithoutRunning,
  type TrackedMigration,
  unrecordedObjects,
} from './tracking.js';
import { ValidationError } from '../errors.js';
import { type AdoptedMigration, attributeObjects } from '../model/attribute.js';
import type { Operation } from '../sql/operations.js';
import { loadParser } from '../sql/parse.js';
import { readMigration } from '../sql/read.js';
import type { SetRun } from './context.js';

/** What a file's statements do to objects; a file that does not parse stops the run. */
export async function operationsOfFile(
  cwd: string,
  set: string,
  file: MigrationFile,
): Promise<Operation[]> {
  const parsed = readMigration(await loadParser(), file.sql);
  if (!parsed.ok) {
    const path = relative(cwd, file.path) || file.path;
    throw new ValidationError(
      `Set "${set}": ${path}:${parsed.problem.at.line}:${parsed.problem.at.column} does not parse: ${parsed.problem.message}. Nothing was recorded.`,
      `Fix the file (schemata lint ${set}), then run the command again.`,
    );
  }
  return parsed.operations;
}

/**
 * Records, as the set's expected state, the objects that exist now and that
 * no migration is credited with, crediting each to the migration among
 * `migrations` that made it (model/attribute.ts), but for the tables in
 * `record.leave` (the adopted tool's own) and their parts. Baseline records
 * its files with it, in the same transaction.
 */
export async function adoptObjects(
  client: Client,
  cwd: string,
  set: SetRun,
  migrations: ReadonlyArray<Pick<TrackedMigration, 'version' | 'file'>>,
  record?: {
    event: 'baselined';
    files: readonly MigrationFile[];
    from?: ReadonlyMap<string, AdoptedFrom>;
    /** Tables left out with their parts (schema.table): the adopted tool's own tables. */
    leave?: readonly string[] | undefined;
  },
): Promise<number> {
  const files = new Map(set.files.map((f) => [f.version, f]));
  const adopted: AdoptedMigration[] = [];
  for (const m of migrations) {
    const file = files.get(m.version);
    adopted.push({
      version: m.version,
      file: m.file,
      operations: file ? await operationsOfFile(cwd, set.config.name, file) : [],
    });
  }
  const { objects: listed, creationSchema } = await unrecordedObjects(client);
  const leave = new Set(record?.leave ?? []);
  const objects = listed.filter(
    (o) => !leave.has(o.identity) && (o.parent === null || !leave.has(o.parent)),
  );
  const credited = attributeObjects(objects, adopted, set.config.schemas, creationSchema);
  await recordWithoutRunning(
    client,
    set.config.name,
    record?.event ?? 'baselined',
    record?.files ?? [],
    credited,
    record?.from,
  );
  return credited.length;
}
