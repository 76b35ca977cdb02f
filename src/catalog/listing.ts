import type { RefKind } from '../sql/operations.js';
import { quoteLiteral } from '../sql/quote.js';

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
export function catalogObjectsSql(scope: SnapshotScope = 'all'): string {
  return objectsSql(
    scope === 'all' ? undefined : `ARRAY[${scope.map(quoteLiteral).join(', ')}]::text[]`,
  );
}

/** The objects of the names an SQL expression of type text[] gives (a function's parameter), and their parts. */
export function namedObjectsSql(names: string): string {
  return objectsSql(names);
}

/*
 * A function's argument types, each qualified unless it is pg_catalog's
 * (`public.citext`, `workspace.mood[]`, `integer`): what oidvectortypes
 * prints under search_path = pg_catalog, whatever path is in force, so that
 * schemata's functions, a batch under the file's path and validate under the
 * database's read one identity. Each type is looked up by its OID (LATERAL, kept a subquery by OFFSET 0):
 * joined, with hash joins allowed (the whole listing), every function hashed all of pg_type, and the listing
 * of 400 functions took 50 of its 60 ms.
 */
export const ARGUMENT_TYPES_SQL = `(SELECT COALESCE(pg_catalog.string_agg(x.name, ', ' ORDER BY a.n), '')
       FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY AS a(type, n)
       CROSS JOIN LATERAL (SELECT CASE
            WHEN tn.nspname = 'pg_catalog' THEN pg_catalog.format_type(a.type, NULL)
            WHEN t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0 THEN
              (SELECT pg_catalog.format('%I.%I[]', en.nspname, e.typname)
                 FROM pg_catalog.pg_type e JOIN pg_catalog.pg_namespace en ON en.oid = e.typnamespace WHERE e.oid = t.typelem)
            ELSE pg_catalog.format('%I.%I', tn.nspname, t.typname) END AS name
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid = a.type OFFSET 0) x)`;

/**
 * The kind, identity and schema of every object listed, or (with `schemas`,
 * an SQL expression of type text[]) of those in these schemas and the
 * extensions: what the checks for missing and extra objects compare, at the
 * cost of the set's own schemas whatever the size of the rest of the catalog
 * (a fleet of a thousand tenant schemas on one database). The same rows as
 * the listing, without the parents of relations, whose joins cost a fifth of
 * a no-op's check on a new session (1,000 tables: 101 ms against 127).
 */
export function presentObjectsSql(schemas?: string): string {
  const { ctes, branches } = listingParts(undefined, schemas, { parents: false });
  // Each branch read through a subquery of its own, which the planner folds into the query: only these three
  // columns are computed (the keys and names of 13,000 objects, unused, cost a tenth of the check).
  return `SELECT l.kind, l.identity, l.schema_name FROM (
WITH RECURSIVE ${ctes}
${Object.values(branches)
  .map(
    (branch) => `SELECT b.kind, b.identity, b.schema_name FROM (${branch}) b(${LISTING_COLUMNS})`,
  )
  .join('\nUNION ALL\n')}) l`;
}

/**
 * The system catalogs the listing below reads: an object's name, kind,
 * schema, parent, columns, membership of an extension. A migration that
 * writes none of them changes nothing the listing returns (engine/measure.ts
 * CATALOG_WRITTEN); a catalog this file starts reading belongs here too.
 */
export const LISTED_CATALOGS = [
  'pg_namespace',
  'pg_class',
  'pg_attribute',
  'pg_constraint',
  'pg_type',
  'pg_proc',
  'pg_trigger',
  'pg_policy',
  'pg_extension',
  'pg_depend',
  'pg_index',
  'pg_inherits',
];

/** A schema the listing covers (`nspname`, a column of a pg_namespace row): not a system schema, not schemata's own. */
const listedSchema = (
  nspname: string,
) => `${nspname} NOT IN ('pg_catalog', 'information_schema', 'schemata')
     AND NOT pg_catalog.starts_with(${nspname}, 'pg_toast') AND NOT pg_catalog.starts_with(${nspname}, 'pg_temp_')`;

/**
 * The functions and procedures that take, or return, a type of one of `names` (a table's, view's or
 * materialized view's row type, an enum, a composite type, a domain, or an array of one): their identity
 * prints the type's name, so renaming or moving it renames them. Found by pg_depend's index on what is
 * referenced, from the types by pg_type's index on names; those of the system schemas are no user's.
 */
const FUNCTIONS_OVER_NAMED_TYPES = (
  names: string,
  reachable = (_nspname: string) => 'true',
) => `ARRAY(
    SELECT d.objid FROM pg_catalog.pg_type t
     CROSS JOIN LATERAL (VALUES (t.oid), (t.typarray)) AS x(typ)
      JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid = x.typ
           AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
     WHERE t.typname = ANY(${names}) AND x.typ <> 0
       -- Its schema asked of each type found, not each schema searched for the names (a fleet has a thousand).
       AND (SELECT ${listedSchema('tn.nspname')} AND ${reachable('tn.nspname')} FROM pg_catalog.pg_namespace tn WHERE tn.oid = t.typnamespace))`;

/**
 * Not a member of an extension: the whole catalog (`whole`) asks pg_depend
 * once (a hashed list, read through its index on the referenced object: a
 * member's row always references its extension), a few objects each by its
 * index.
 */
const notMember = (classid: string, objid: string, whole: boolean) =>
  whole
    ? `${objid} NOT IN (SELECT d.objid FROM pg_catalog.pg_depend d WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.classid = '${classid}'::pg_catalog.regclass AND d.deptype = 'e')`
    : `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${classid}'::pg_catalog.regclass AND d.objid = ${objid} AND d.deptype = 'e')`;

/**
 * A type the listing follows (`t`, a pg_type row): an enum, a range, a domain, or a composite type made by CREATE
 * TYPE, not a table's row type. `few`: a few types by name, each asked of pg_class by its index. An EXISTS there
 * may be planned as a hashed subplan that reads all of pg_class, which the snapshot of every migration paid (its
 * cost grew with the database); the whole listing keeps that plan, one read for every type.
 */
const LISTED_TYPE = (t: string, few = false) =>
  few
    ? `(${t}.typtype IN ('e', 'r', 'd') OR (${t}.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = ${t}.typrelid) = 'c'))`
    : `(${t}.typtype IN ('e', 'r', 'd') OR (${t}.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = ${t}.typrelid AND c.relkind = 'c')))`;

/** Where the OIDs of the relations the snapshot before the migration holds are kept, beside it (engine/tracking.ts). */
export const BEFORE_RELATIONS = 'schemata.before_relations';

/** The OIDs of the relations the snapshot before the migration held (schemata.before_relations, local to its transaction). */
const RELATIONS_BEFORE = `SELECT pg_catalog.unnest(COALESCE(NULLIF(pg_catalog.current_setting('${BEFORE_RELATIONS}', true), ''), '{}')::pg_catalog.oid[])`;

/** The listing's columns, named: a branch read on its own takes its names from here. */
const LISTING_COLUMNS = 'kind, key, identity, schema_name, name, parent, table_name';

/** A schema's row of the listing, from `ns` (its oid and nspname). */
const SCHEMA_ROW = `SELECT 'schema'::text AS kind, 'n' || ns.oid AS key, pg_catalog.quote_ident(ns.nspname) AS identity, ns.nspname AS schema_name, ns.nspname::text AS name, NULL::text AS parent, NULL::text AS table_name`;

/**
 * True where the names an SQL expression of type text[] gives can list
 * nothing but schemas: no relation, type, function or extension bears one
 * of them, and the snapshot before (schemata.before_relations) holds no relation. The
 * snapshot before a migration that makes new objects is most often so, and
 * the whole listing's plan costs more to start than to run.
 */
export function onlySchemasNamedSql(names: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relname = ANY(${names}))
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typname = ANY(${names}))
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.proname = ANY(${names}))
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = ANY(${names}))
     AND NOT EXISTS (${RELATIONS_BEFORE})`;
}

/** What namedObjectsSql lists where onlySchemasNamedSql holds: the schemas of those names. */
export function namedSchemasSql(names: string): string {
  return `${SCHEMA_ROW}
  FROM pg_catalog.pg_namespace ns
 WHERE ns.nspname = ANY(${names}) AND ${listedSchema('ns.nspname')}
   AND ${notMember('pg_catalog.pg_namespace', 'ns.oid', false)}`;
}

/** The listing's branches, one per kind, in the order the listing joins them by UNION ALL. */
interface ListingParts {
  /** The common table expressions, after WITH RECURSIVE: the scope of the names, `ns` and `rel`. */
  ctes: string;
  /** `ns` alone, the schemas listed: what the branches of functions, types and domains' constraints read. */
  ns: string;
  branches: {
    schemas: string;
    relations: string;
    columns: string;
    constraints: string;
    domainConstraints: string;
    triggers: string;
    policies: string;
    functions: string;
    types: string;
    extensions: string;
  };
}

/** `names`: an SQL expression of type text[], or undefined for the whole catalog; `schemas`: only these schemas. */
function objectsSql(names: string | undefined, schemas?: string): string {
  const { ctes, branches } = listingParts(names, schemas);
  return `
WITH RECURSIVE ${ctes}
${Object.values(branches).join('\nUNION ALL\n')}`;
}

/**
 * namedObjectsSql in groups, for the snapshot function: the relations with
 * their parts and the schemas, always; the constraints of domains, the
 * functions, the types and the extensions each only where a probe by name
 * (an index lookup) finds one of its kind. The same rows as namedObjectsSql:
 * each probe holds wherever its branch would list a row. Each group is
 * planned on its own, so a migration about tables no longer starts the
 * executor for every branch of the listing, which cost more than running
 * them.
 */
export function namedObjectGroupsSql(names: string): Array<{ probe?: string; sql: string }> {
  const { ctes, ns, branches: b } = listingParts(names);
  // A branch on its own takes its columns' names from the schemas' branch, which comes first in the listing.
  const named = (branch: string) => `SELECT x.* FROM (${branch}) AS x(${LISTING_COLUMNS})`;
  const withNs = (branch: string) => `WITH ${ns}\n${named(branch)}`;
  return [
    {
      sql: `WITH RECURSIVE ${ctes}\n${[b.schemas, b.relations, b.columns, b.constraints, b.triggers, b.policies].join('\nUNION ALL\n')}`,
    },
    {
      probe: `EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typname = ANY(${names}) AND t.typtype = 'd')`,
      sql: withNs(b.domainConstraints),
    },
    {
      probe: `(EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.proname = ANY(${names}))
        OR pg_catalog.cardinality(${FUNCTIONS_OVER_NAMED_TYPES(names)}) > 0)`,
      sql: withNs(b.functions),
    },
    {
      probe: `EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typname = ANY(${names}) AND ${LISTED_TYPE('t', true)})`,
      sql: withNs(b.types),
    },
    {
      probe: `EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = ANY(${names}))`,
      sql: named(b.extensions),
    },
  ];
}

/** The parts of the listing objectsSql joins; without `parents`, a relation's parent and table are NULL. */
function listingParts(
  names: string | undefined,
  schemas?: string,
  { parents = true } = {},
): ListingParts {
  const scope = names === undefined ? 'all' : 'named';
  const notMemberHere = (classid: string, objid: string) =>
    notMember(classid, objid, names === undefined);
  // Scoped: the relations of those names, the tables of those indexes and sequences, their partitions, and
  // the indexes and owned sequences of all of these; each step an index lookup, not a scan of the catalog.
  // After the migration, also every relation the snapshot before it held (schemata.before_relations, local to the
  // transaction): one scope for both, or a table reached only through an index the file drops (DROP INDEX,
  // OWNED BY NONE, a partition dropped) would look dropped with it.
  // A tenant's migration (SPEC §10) reaches the schemas of its search path and those it names: the
  // relations, functions and types of a name in the other tenants' schemas are none of its business.
  // schemata.path holds that path when the migration began; unset, every schema is reachable.
  // A CASE, not OR: SQL may evaluate an OR's arms in any order, and '' is no text[].
  const reachable = (nspname: string) =>
    `(CASE WHEN COALESCE(pg_catalog.current_setting('schemata.path', true), '') = '' THEN true ELSE ${nspname} = ANY(${names}) OR ${nspname} = ANY(pg_catalog.current_setting('schemata.path', true)::text[]) END)`;
  const scoped =
    scope === 'all'
      ? ''
      : `mentioned AS MATERIALIZED (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
   WHERE c.relname = ANY(${names}) AND ${reachable('cn.nspname')}
  UNION ${RELATIONS_BEFORE}
), tables(oid) AS (
  -- Each step probes the catalog by the OIDs it has (LATERAL, kept as a subquery by OFFSET 0): planned on a
  -- catalog with few children, a join read the whole of pg_inherits at every step, and PostgreSQL 14 joined a
  -- partitioned table's thousand partitions with every dependency of pg_class (4 million comparisons).
  SELECT oid FROM mentioned
  UNION SELECT x.indrelid FROM mentioned m CROSS JOIN LATERAL (SELECT x.indrelid FROM pg_catalog.pg_index x WHERE x.indexrelid = m.oid OFFSET 0) x
  UNION SELECT d.refobjid FROM mentioned m CROSS JOIN LATERAL (SELECT d.refobjid FROM pg_catalog.pg_depend d
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = m.oid
           AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') OFFSET 0) d
  UNION SELECT i.inhrelid FROM tables t CROSS JOIN LATERAL (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = t.oid OFFSET 0) i
), scope AS MATERIALIZED (
  SELECT oid FROM tables
  UNION SELECT x.indexrelid FROM tables t CROSS JOIN LATERAL (SELECT x.indexrelid FROM pg_catalog.pg_index x WHERE x.indrelid = t.oid OFFSET 0) x
  UNION SELECT d.objid FROM tables t CROSS JOIN LATERAL (SELECT d.objid FROM pg_catalog.pg_depend d
         WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = t.oid
           AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') OFFSET 0) d
), `;
  const only = (condition: string) => (scope === 'all' ? '' : ` AND ${condition}`);
  // The parts of the relations listed, looked up by each relation (an index probe) when the listing is of
  // some names or some schemas: a hash join over every column of the catalog costs as much as the whole. Of
  // some names (the snapshot function, whose plan settings leave no hash join), through a LATERAL subquery the
  // planner keeps (OFFSET 0): a join to the relations planned as a nested loop read them all for each one (the
  // 2,000 relations of a partitioned table: 4 million comparisons), and an index condition on the array of them
  // sorted it at every probe. Of some schemas (read with hash joins), by that index condition.
  const fewRelations = scope !== 'all' || schemas !== undefined;
  const named = scope !== 'all';
  const partsOf = (catalog: string, alias: string, relid: string, where = '') =>
    named
      ? `rel r CROSS JOIN LATERAL (SELECT * FROM ${catalog} ${alias} WHERE ${alias}.${relid} = r.oid${where ? ` AND ${where}` : ''} OFFSET 0) ${alias}`
      : `${catalog} ${alias} JOIN rel r ON r.oid = ${alias}.${relid}${where ? ` AND ${where}` : ''}${
          fewRelations ? ` AND ${alias}.${relid} = ANY(ARRAY(SELECT oid FROM rel))` : ''
        }`;
  const ns = `ns AS MATERIALIZED (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
   WHERE ${listedSchema('n.nspname')}${
     schemas === undefined
       ? ''
       : `
     AND n.nspname = ANY(${schemas})`
   }
)`;
  // An index's table, a sequence's owner: listed as a relation too, found by its OID where names are listed.
  // PostgreSQL keeps both in the part's schema, and a scope of names that holds the part holds its table
  // (`tables` above): the relation's own conditions are enough, where asking for the scope's array again
  // sorted it at every probe.
  const listedRelation = (c: string) => `${c}.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'i', 'I')
     AND ${notMemberHere('pg_catalog.pg_class', `${c}.oid`)}`;
  const parentOf = named
    ? `LEFT JOIN LATERAL (
    SELECT pg_catalog.format('%I.%I', tn.nspname, tc.relname) AS identity, tc.relname
      FROM pg_catalog.pg_class tc JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
     WHERE tc.oid = coalesce(x.indrelid, o.refobjid) AND ${listedSchema('tn.nspname')}${schemas === undefined ? '' : ` AND tn.nspname = ANY(${schemas})`}
       AND ${listedRelation('tc')}
    OFFSET 0) t ON true`
    : 'LEFT JOIN rel t ON t.oid = coalesce(x.indrelid, o.refobjid)';
  return {
    ctes: `${scoped}${ns}, rel AS MATERIALIZED (
  SELECT c.oid, c.relkind, c.relname, ns.nspname, pg_catalog.format('%I.%I', ns.nspname, c.relname) AS identity
    FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
   WHERE ${listedRelation('c')}${only('c.oid = ANY(ARRAY(SELECT oid FROM scope))')}
)`,
    ns,
    branches: {
      schemas: `${SCHEMA_ROW}
  FROM ns
 WHERE ${notMemberHere('pg_catalog.pg_namespace', 'ns.oid')}${only(`ns.nspname = ANY(${names})`)}`,
      relations: `SELECT CASE r.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' ELSE 'table' END,
       'c' || r.oid, r.identity, r.nspname, r.relname::text,
       ${
         parents
           ? `t.identity, t.relname::text
  FROM rel r
  -- an index's table; a serial or identity column's sequence belongs to its table too
  LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = r.oid
  LEFT JOIN pg_catalog.pg_depend o ON r.relkind = 'S' AND o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = r.oid
        AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.deptype IN ('a', 'i')
  ${parentOf}`
           : `NULL::text, NULL::text
  FROM rel r`
       }`,
      columns: `SELECT 'column', 'a' || a.attrelid || '.' || a.attnum, pg_catalog.format('%s.%I', r.identity, a.attname), r.nspname, a.attname::text, r.identity, r.relname::text
  FROM ${partsOf('pg_catalog.pg_attribute', 'a', 'attrelid', 'a.attnum > 0 AND NOT a.attisdropped')}
 WHERE r.relkind IN ('r', 'p', 'f')`,
      constraints: `SELECT 'constraint', 'o' || k.oid, pg_catalog.format('%I on %s', k.conname, r.identity), r.nspname, k.conname::text, r.identity, r.relname::text
  FROM ${partsOf('pg_catalog.pg_constraint', 'k', 'conrelid')}`,
      domainConstraints: `SELECT 'constraint', 'o' || k.oid, pg_catalog.format('%I on domain %I.%I', k.conname, ns.nspname, t.typname), ns.nspname, k.conname::text, pg_catalog.format('%I.%I', ns.nspname, t.typname), t.typname::text
  FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace
  -- a domain's constraints have no table: conrelid 0 lets the index on (conrelid, contypid) answer
  JOIN pg_catalog.pg_constraint k ON k.conrelid = 0 AND k.contypid = t.oid
 WHERE t.typtype = 'd'${only(`t.typname = ANY(${names}) AND ${reachable('ns.nspname')}`)}`,
      triggers: `SELECT 'trigger', 't' || g.oid, pg_catalog.format('%I on %s', g.tgname, r.identity), r.nspname, g.tgname::text, r.identity, r.relname::text
  FROM ${partsOf('pg_catalog.pg_trigger', 'g', 'tgrelid', 'NOT g.tgisinternal')}`,
      policies: `SELECT 'policy', 'l' || p.oid, pg_catalog.format('%I on %s', p.polname, r.identity), r.nspname, p.polname::text, r.identity, r.relname::text
  FROM ${partsOf('pg_catalog.pg_policy', 'p', 'polrelid')}`,
      functions: `SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, 'p' || p.oid,
       pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname, ${ARGUMENT_TYPES_SQL}), ns.nspname, p.proname::text, NULL, NULL
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
 WHERE ${notMemberHere('pg_catalog.pg_proc', 'p.oid')}${only(
   // Those of the names, and those over the names' types: each set by an index, then each function by its OID.
   `p.oid = ANY(ARRAY(
    SELECT q.oid FROM pg_catalog.pg_proc q JOIN pg_catalog.pg_namespace qn ON qn.oid = q.pronamespace
     WHERE q.proname = ANY(${names}) AND ${reachable('qn.nspname')}
    UNION ALL SELECT pg_catalog.unnest(${FUNCTIONS_OVER_NAMED_TYPES(names ?? '', reachable)})))`,
 )}`,
      types: `SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, 'y' || t.oid, pg_catalog.format('%I.%I', ns.nspname, t.typname), ns.nspname, t.typname::text, NULL, NULL
  FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace
 WHERE ${LISTED_TYPE('t', scope !== 'all')}
   AND ${notMemberHere('pg_catalog.pg_type', 't.oid')}${only(`t.typname = ANY(${names}) AND ${reachable('ns.nspname')}`)}`,
      extensions: `SELECT 'extension', 'e' || e.oid, pg_catalog.quote_ident(e.extname), ns.nspname, e.extname::text, NULL, NULL
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace ns ON ns.oid = e.extnamespace
 WHERE e.extname <> 'plpgsql'${only(`e.extname = ANY(${names})`)}`,
    },
  };
}

/** The whole catalog's objects. */
export const CATALOG_OBJECTS_SQL = catalogObjectsSql('all');

/** What a migration's snapshot covers: the whole catalog, or the objects of these names and their parts (sql/footprint.ts). */
export type SnapshotScope = 'all' | readonly string[];

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
