import type { RefKind } from '../sql/operations.js';

/*
 * The database's own answer to "what is there": every object of the kinds
 * SPEC §4.2 follows, as rows (kind, key, identity, schema_name, name, parent,
 * table_name).
 *
 * - `key` is the catalog's identity of the object (its OID, or table OID and
 *   attribute number for a column). It survives a rename and a SET SCHEMA, so
 *   comparing two snapshots by key tells a rename or a move from a drop and a
 *   create.
 * - `identity` is its name as PostgreSQL prints it (`workspace.items`,
 *   `workspace.f(integer, text)`, by its argument types, `items_pkey on workspace.items`): what is
 *   expected, compared and shown.
 * - `parent` is the identity of the table an index, column, constraint,
 *   trigger or policy belongs to, so a missing table is not reported again
 *   through each of its columns.
 *
 * Objects of the system schemas, of schemata's own schema, of temporary
 * schemas, and the members of extensions (the extension is the object) are
 * left out. Every name is qualified: this text runs right after a migration,
 * whatever search_path the migration set.
 */
export const CATALOG_OBJECTS_SQL = `
WITH ns AS MATERIALIZED (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'schemata')
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
), ext AS MATERIALIZED (
  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d WHERE d.deptype = 'e'
), rel AS MATERIALIZED (
  SELECT c.oid, c.relkind, c.relname, ns.nspname, pg_catalog.format('%I.%I', ns.nspname, c.relname) AS identity
    FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'i', 'I')
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ext.objid = c.oid)
)
SELECT 'schema'::text AS kind, 'n' || ns.oid AS key, pg_catalog.quote_ident(ns.nspname) AS identity, ns.nspname AS schema_name, ns.nspname::text AS name, NULL::text AS parent, NULL::text AS table_name
  FROM ns
 WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND ext.objid = ns.oid)
UNION ALL
SELECT CASE r.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' ELSE 'table' END,
       'c' || r.oid, r.identity, r.nspname, r.relname::text,
       t.identity, t.relname::text
  FROM rel r
  -- an index's table; a serial or identity column's sequence belongs to its table too
  LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = r.oid
  LEFT JOIN pg_catalog.pg_depend o ON r.relkind = 'S' AND o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = r.oid
        AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.deptype IN ('a', 'i')
  LEFT JOIN rel t ON t.oid = coalesce(x.indrelid, o.refobjid)
UNION ALL
SELECT 'column', 'a' || a.attrelid || '.' || a.attnum, pg_catalog.format('%s.%I', r.identity, a.attname), r.nspname, a.attname::text, r.identity, r.relname::text
  FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
 WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', 'o' || k.oid, pg_catalog.format('%I on %s', k.conname, r.identity), r.nspname, k.conname::text, r.identity, r.relname::text
  FROM pg_catalog.pg_constraint k JOIN rel r ON r.oid = k.conrelid
UNION ALL
SELECT 'constraint', 'o' || k.oid, pg_catalog.format('%I on domain %I.%I', k.conname, ns.nspname, t.typname), ns.nspname, k.conname::text, pg_catalog.format('%I.%I', ns.nspname, t.typname), t.typname::text
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_type t ON t.oid = k.contypid JOIN ns ON ns.oid = t.typnamespace
 WHERE k.contypid <> 0
UNION ALL
SELECT 'trigger', 't' || g.oid, pg_catalog.format('%I on %s', g.tgname, r.identity), r.nspname, g.tgname::text, r.identity, r.relname::text
  FROM pg_catalog.pg_trigger g JOIN rel r ON r.oid = g.tgrelid
 WHERE NOT g.tgisinternal
UNION ALL
SELECT 'policy', 'l' || p.oid, pg_catalog.format('%I on %s', p.polname, r.identity), r.nspname, p.polname::text, r.identity, r.relname::text
  FROM pg_catalog.pg_policy p JOIN rel r ON r.oid = p.polrelid
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, 'p' || p.oid,
       pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname, pg_catalog.oidvectortypes(p.proargtypes)), ns.nspname, p.proname::text, NULL, NULL
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
 WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND ext.objid = p.oid)
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, 'y' || t.oid, pg_catalog.format('%I.%I', ns.nspname, t.typname), ns.nspname, t.typname::text, NULL, NULL
  FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace
 WHERE (t.typtype IN ('e', 'r', 'd') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
   AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND ext.objid = t.oid)
UNION ALL
SELECT 'extension', 'e' || e.oid, pg_catalog.quote_ident(e.extname), ns.nspname, e.extname::text, NULL, NULL
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace ns ON ns.oid = e.extnamespace
 WHERE e.extname <> 'plpgsql'`;

/** One row of a catalog snapshot. */
export interface CatalogObject {
  kind: ObjectKind;
  key: string;
  identity: string;
  schema_name: string;
  name: string;
  parent: string | null;
  /** The table (or domain) a part belongs to, unquoted. */
  table_name: string | null;
}

/** The kinds the catalog lists are the kinds statements name. */
export type ObjectKind = RefKind;
