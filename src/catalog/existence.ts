import { type ObjectRef, refKey } from '../sql/operations.js';
import type { Client } from '../engine/connect.js';

/*
 * Whether objects named by statements exist, asked as PostgreSQL would
 * resolve them: an unqualified CREATE lands in the first schema of the
 * search_path that exists, an unqualified table is found through the path,
 * a function by its argument types (to_regprocedure: a new overload is
 * another object). One round trip for any number of objects.
 */
const EXISTING_SQL = `
WITH i AS (
  SELECT * FROM pg_catalog.jsonb_to_recordset($1::jsonb) AS i(id int, kind text, schema text, name text, tbl text, args jsonb)
), cs AS (
  SELECT (pg_catalog.current_schemas(false))[1] AS s
), r AS (
  SELECT i.*, coalesce(nullif(i.schema, ''), cs.s) AS target,
         pg_catalog.to_regclass(CASE WHEN i.tbl IS NULL THEN NULL WHEN i.schema = '' THEN pg_catalog.quote_ident(i.tbl) ELSE pg_catalog.format('%I.%I', i.schema, i.tbl) END) AS tbl_oid
    FROM i, cs
)
SELECT (SELECT s FROM cs) AS creation_schema, ARRAY(
  SELECT r.id FROM r WHERE CASE
    WHEN r.kind = 'schema' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = r.name)
    WHEN r.kind = 'extension' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = r.name)
    WHEN r.kind IN ('table', 'view', 'materialized view', 'sequence', 'index') THEN EXISTS (
      SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = r.name AND n.nspname = r.target)
    WHEN r.kind IN ('type', 'domain') THEN EXISTS (
      SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = r.name AND n.nspname = r.target)
    WHEN r.kind IN ('function', 'procedure') THEN CASE WHEN r.args IS NULL THEN EXISTS (
      SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = r.name AND n.nspname = r.target)
      -- Before PostgreSQL 16, to_regprocedure raises for an argument type that does not exist (yet): none, no function.
      WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements_text(r.args) AS a(type) WHERE pg_catalog.to_regtype(a.type) IS NULL) THEN false
      ELSE pg_catalog.to_regprocedure(pg_catalog.format('%I.%I(%s)', r.target, r.name,
             (SELECT pg_catalog.string_agg(a.type, ', ' ORDER BY a.n) FROM pg_catalog.jsonb_array_elements_text(r.args) WITH ORDINALITY AS a(type, n)))) IS NOT NULL END
    WHEN r.kind = 'column' THEN EXISTS (
      SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.tbl_oid AND a.attname = r.name AND a.attnum > 0 AND NOT a.attisdropped)
    WHEN r.kind = 'constraint' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = r.tbl_oid AND k.conname = r.name)
    WHEN r.kind = 'trigger' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = r.tbl_oid AND g.tgname = r.name)
    WHEN r.kind = 'policy' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = r.tbl_oid AND p.polname = r.name)
    ELSE false END
) AS existing,
  -- The table of each index that exists: a file that drops the table takes the index along.
  ARRAY(SELECT pg_catalog.jsonb_build_object('id', r.id, 'table', t.relname)
          FROM r JOIN pg_catalog.pg_namespace n ON n.nspname = r.target
          JOIN pg_catalog.pg_class i ON i.relnamespace = n.oid AND i.relname = r.name AND i.relkind IN ('i', 'I')
          JOIN pg_catalog.pg_index x ON x.indexrelid = i.oid JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
         WHERE r.kind = 'index') AS owners`;

export interface Existence {
  /** refKey (raw, unresolved) of the refs that exist. */
  existing: Set<string>;
  /** Where an unqualified CREATE lands: the first existing schema of the search_path. */
  creationSchema: string;
  /** refKey (raw) of an index that exists -> the name of its table, in the index's schema. */
  indexTables: Map<string, string>;
}

export async function existingRefs(
  client: Client,
  refs: readonly ObjectRef[],
  /** A tenant schema's search_path (SQL), set for this question alone; else the session's. */
  searchPath?: string,
): Promise<Existence> {
  const input = refs.map((ref, id) => ({
    id,
    kind: ref.kind,
    schema: ref.schema,
    name: ref.name,
    tbl: ref.table ?? null,
    args: ref.args ?? null,
  }));
  const ask = () =>
    client.query<{
      creation_schema: string | null;
      existing: number[];
      owners: Array<{ id: number; table: string }>;
    }>(EXISTING_SQL, [JSON.stringify(input)]);
  let rows: Awaited<ReturnType<typeof ask>>['rows'];
  if (searchPath === undefined) ({ rows } = await ask());
  else {
    // In a transaction of its own: behind PgBouncer the setting and the question share a server connection.
    await client.query(`BEGIN READ ONLY; SET LOCAL search_path = ${searchPath}`);
    try {
      ({ rows } = await ask());
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  const row = rows[0]!;
  return {
    existing: new Set(row.existing.map((id) => refKey(refs[id]!))),
    creationSchema: row.creation_schema ?? '',
    indexTables: new Map(row.owners.map((o) => [refKey(refs[o.id]!), o.table])),
  };
}

/*
 * The partitioned tables each of these tables (identities as the listing
 * prints them) is a partition of, at any depth: an index made on one of
 * them is made on its partitions too, under names PostgreSQL picks.
 */
const ANCESTORS_SQL = `
SELECT t.identity, pg_catalog.format('%I.%I', n.nspname, c.relname) AS ancestor
  FROM pg_catalog.unnest($1::text[]) AS t(identity)
  CROSS JOIN LATERAL pg_catalog.pg_partition_ancestors(pg_catalog.to_regclass(t.identity)) AS a(relid)
  JOIN pg_catalog.pg_class c ON c.oid = a.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE a.relid <> pg_catalog.to_regclass(t.identity)`;

/** Each table's partitioned ancestors, for those that are partitions. */
export async function partitionAncestors(
  client: Client,
  tables: readonly string[],
): Promise<Map<string, string[]>> {
  const ancestors = new Map<string, string[]>();
  if (tables.length === 0) return ancestors;
  const { rows } = await client.query<{ identity: string; ancestor: string }>(ANCESTORS_SQL, [
    [...new Set(tables)],
  ]);
  for (const row of rows)
    ancestors.set(row.identity, [...(ancestors.get(row.identity) ?? []), row.ancestor]);
  return ancestors;
}
