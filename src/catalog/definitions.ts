import { catalogObjectsSql, namedObjectsSql } from './listing.js';

/*
 * The catalog listing with each object's definition as PostgreSQL prints it:
 * a column's type, NOT NULL and default; an index's, a constraint's, a
 * view's and a trigger's definition; a function's signature, result, body
 * and settings; an enum's labels. `rollback --check` compares two of these by
 * identity, so that a down that leaves a column's type changed is named,
 * not only one that leaves an object. Keys are those of catalog/listing.ts.
 */
/*
 * Each listed object's definition, looked up by its key (an index probe per
 * object), so the cost follows the objects listed, not the catalog.
 */
const DEFINITION_SQL = `CASE pg_catalog.left(o.key, 1)
  WHEN 'a' THEN (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
                   || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                   || COALESCE(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '')
                   FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = pg_catalog.split_part(pg_catalog.substr(o.key, 2), '.', 1)::pg_catalog.oid
                    AND a.attnum = pg_catalog.split_part(o.key, '.', 2)::int2)
  WHEN 'c' THEN CASE o.kind WHEN 'index' THEN pg_catalog.pg_get_indexdef(pg_catalog.substr(o.key, 2)::pg_catalog.oid)
                            WHEN 'view' THEN pg_catalog.pg_get_viewdef(pg_catalog.substr(o.key, 2)::pg_catalog.oid)
                            WHEN 'materialized view' THEN pg_catalog.pg_get_viewdef(pg_catalog.substr(o.key, 2)::pg_catalog.oid) END
  WHEN 'o' THEN pg_catalog.pg_get_constraintdef(pg_catalog.substr(o.key, 2)::pg_catalog.oid)
  WHEN 't' THEN pg_catalog.pg_get_triggerdef(pg_catalog.substr(o.key, 2)::pg_catalog.oid)
  WHEN 'p' THEN (SELECT pg_catalog.format_type(p.prorettype, NULL) || ' ' || p.prokind::text || ' ' || p.provolatile::text || ' '
                   || COALESCE(pg_catalog.array_to_string(p.proconfig, ','), '') || ' ' || pg_catalog.md5(p.prosrc)
                   FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.substr(o.key, 2)::pg_catalog.oid)
  WHEN 'y' THEN (SELECT pg_catalog.string_agg(e.enumlabel::text, ', ' ORDER BY e.enumsortorder)
                   FROM pg_catalog.pg_enum e WHERE e.enumtypid = pg_catalog.substr(o.key, 2)::pg_catalog.oid)
END`;

/** Every object of the catalog with its definition (null where none is compared). */
export const DEFINED_OBJECTS_SQL = `SELECT o.kind, o.identity, o.parent, ${DEFINITION_SQL} AS definition
  FROM (${catalogObjectsSql('all')}) o`;

/** The objects of the names in $1 (text[]) and their parts, with their definitions: what one migration and its down can reach. */
export const DEFINED_NAMED_OBJECTS_SQL = `SELECT o.kind, o.identity, o.parent, ${DEFINITION_SQL} AS definition
  FROM (${namedObjectsSql('$1::text[]')}) o`;

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
