import { catalogObjectsSql } from './listing.js';

/*
 * The catalog listing with each object's definition as PostgreSQL prints it:
 * a column's type, NOT NULL and default; an index's, a constraint's, a
 * view's and a trigger's definition; a function's signature, result, body
 * and settings; an enum's labels. `rollback --check` compares two of these by
 * identity, so that a down that leaves a column's type changed is named,
 * not only one that leaves an object. Keys are those of catalog/listing.ts.
 */
const DEFINITIONS_SQL = `
WITH own AS MATERIALIZED (
  SELECT n.oid FROM pg_catalog.pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'schemata')
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
), rel AS MATERIALIZED (
  SELECT c.oid, c.relkind FROM pg_catalog.pg_class c WHERE c.relnamespace IN (SELECT oid FROM own)
)
SELECT 'a' || a.attrelid || '.' || a.attnum AS key,
       pg_catalog.format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || COALESCE(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') AS definition
  FROM rel JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE rel.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'c' || rel.oid, CASE WHEN rel.relkind IN ('i', 'I') THEN pg_catalog.pg_get_indexdef(rel.oid) ELSE pg_catalog.pg_get_viewdef(rel.oid) END
  FROM rel WHERE rel.relkind IN ('i', 'I', 'v', 'm')
UNION ALL
SELECT 'o' || k.oid, pg_catalog.pg_get_constraintdef(k.oid) FROM pg_catalog.pg_constraint k WHERE k.connamespace IN (SELECT oid FROM own)
UNION ALL
SELECT 't' || g.oid, pg_catalog.pg_get_triggerdef(g.oid) FROM rel JOIN pg_catalog.pg_trigger g ON g.tgrelid = rel.oid WHERE NOT g.tgisinternal
UNION ALL
SELECT 'p' || p.oid, pg_catalog.format_type(p.prorettype, NULL) || ' ' || p.prokind::text || ' ' || p.provolatile::text || ' '
         || COALESCE(pg_catalog.array_to_string(p.proconfig, ','), '') || ' ' || pg_catalog.md5(p.prosrc)
  FROM pg_catalog.pg_proc p WHERE p.pronamespace IN (SELECT oid FROM own)
UNION ALL
SELECT 'y' || e.enumtypid, pg_catalog.string_agg(e.enumlabel::text, ', ' ORDER BY e.enumsortorder)
  FROM pg_catalog.pg_enum e JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
 WHERE t.typnamespace IN (SELECT oid FROM own) GROUP BY e.enumtypid`;

/** Every object of the catalog with its definition (null where none is compared). */
export const DEFINED_OBJECTS_SQL = `SELECT o.kind, o.identity, o.parent, d.definition
  FROM (${catalogObjectsSql('all')}) o LEFT JOIN (${DEFINITIONS_SQL}) d ON d.key = o.key`;

/** One row of DEFINED_OBJECTS_SQL. */
export interface DefinedObject {
  kind: string;
  identity: string;
  parent: string | null;
  definition: string | null;
}

/**
 * What differs between two listings, by identity, in words: objects left or
 * missing, and definitions changed. A part whose table is itself named is
 * not named again. Pure.
 */
export function differences(
  before: readonly DefinedObject[],
  after: readonly DefinedObject[],
): string[] {
  const key = (o: DefinedObject) => `${o.kind} ${o.identity}`;
  const was = new Map(before.map((o) => [key(o), o]));
  const is = new Map(after.map((o) => [key(o), o]));
  const left = after.filter((o) => !was.has(key(o)));
  const lost = before.filter((o) => !is.has(key(o)));
  const named = (list: readonly DefinedObject[]) => new Set(list.map((o) => o.identity));
  const leftNames = named(left);
  const lostNames = named(lost);
  const found: string[] = [];
  for (const o of left)
    if (o.parent === null || !leftNames.has(o.parent)) found.push(`leaves ${key(o)}`);
  for (const o of lost)
    if (o.parent === null || !lostNames.has(o.parent)) found.push(`does not bring back ${key(o)}`);
  for (const o of after) {
    const old = was.get(key(o));
    if (old && old.definition !== o.definition)
      found.push(`leaves ${key(o)} as ${o.definition ?? '?'} (before: ${old.definition ?? '?'})`);
  }
  return found;
}
