import type { CatalogObject } from '../catalog/listing.js';
import { nameSpaceOf, type Operation, type RefKind } from '../sql/operations.js';

/** Kinds named within their table. */
const PARTS: ReadonlySet<string> = new Set(['column', 'constraint', 'trigger', 'policy']);

/** A migration recorded without running it (baseline, or adopting a format-1 database). */
export interface AdoptedMigration {
  version: string;
  file: string;
  operations: readonly Operation[];
}

/**
 * Says which migration made each object that exists, for migrations that
 * are recorded without running. The catalog is the truth; the files only
 * say who to credit: an object is credited to the last migration whose
 * statements create it by name (a function by name, whatever its
 * signature), a column, constraint, index, trigger or policy to the
 * migration of its table, and anything else in the set's schemas (made in
 * a DO block, say) to the last of the migrations. Objects outside the set's
 * schemas that no file names stay unrecorded. Pure.
 */
export function attributeObjects(
  objects: readonly CatalogObject[],
  migrations: readonly AdoptedMigration[],
  setSchemas: readonly string[],
  creationSchema: string,
): Array<CatalogObject & { version: string; file: string }> {
  const last = migrations[migrations.length - 1];
  if (!last) return [];
  const byName = new Map<string, AdoptedMigration>();
  const nameKey = (kind: RefKind, schema: string, table: string | null | undefined, name: string) =>
    `${nameSpaceOf(kind)}:${kind === 'schema' || kind === 'extension' ? '' : schema || creationSchema}.${PARTS.has(kind) ? (table ?? '') : ''}.${name}`;
  for (const migration of migrations) {
    for (const op of migration.operations) {
      if (op.kind === 'create')
        byName.set(
          nameKey(op.object.kind, op.object.schema, op.object.table, op.object.name),
          migration,
        );
      // A renamed or moved object is still credited to the migration that made it.
      if (op.kind === 'rename' || op.kind === 'move') {
        byName.set(
          nameKey(op.to.kind, op.to.schema, op.to.table, op.to.name),
          byName.get(nameKey(op.from.kind, op.from.schema, op.from.table, op.from.name)) ??
            migration,
        );
      }
    }
  }
  const named = (o: CatalogObject) =>
    byName.get(nameKey(o.kind, o.schema_name, o.table_name, o.name));
  // What made a table made its parts, unless a file names the part itself.
  const creditOf = new Map<string, AdoptedMigration>();
  for (const o of objects) {
    const credit = named(o);
    if (credit && !PARTS.has(o.kind)) creditOf.set(o.identity, credit);
  }
  const attributed: Array<CatalogObject & { version: string; file: string }> = [];
  for (const o of objects) {
    const credit =
      named(o) ??
      (o.parent !== null ? creditOf.get(o.parent) : undefined) ??
      (setSchemas.includes(o.schema_name) ? last : undefined);
    if (credit) attributed.push({ ...o, version: credit.version, file: credit.file });
  }
  return attributed;
}
