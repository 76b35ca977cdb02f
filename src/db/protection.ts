import type { Client } from './connect.js';

/** One thing to look up: a schema, or a relation in a schema (one candidate of a search_path). */
export interface Lookup {
  id: number;
  schema: string;
  name?: string | undefined;
  /** What a destructive step would take with it. */
  mode: 'schema' | 'relation' | 'truncate-cascade' | 'drop-cascade';
}

/** What the catalog holds for a lookup: whether it exists, and every table it would empty that holds rows. */
export interface LookupFacts {
  exists: boolean;
  /** `schema.table` of each affected table or materialized view that holds at least one row. */
  holders: string[];
}

/*
 * One round trip for all the lookups of a migration. Rows are asked for
 * exactly (SELECT 1 ... LIMIT 1 through query_to_xml), never read from
 * reltuples, which lies right after a bulk insert. Affected: the relation
 * itself; every table of a dropped schema; with TRUNCATE ... CASCADE the
 * tables referencing it, transitively; with DROP ... CASCADE the
 * materialized views built on it.
 */
const LOOKUP_SQL = `
WITH RECURSIVE input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(id int, schema text, name text, mode text)
), self AS (
  SELECT i.id, i.mode, c.oid
    FROM input i
    JOIN pg_namespace n ON n.nspname = i.schema
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = i.name AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
   WHERE i.mode <> 'schema'
), referencing(id, oid) AS (
  SELECT id, oid FROM self WHERE mode = 'truncate-cascade'
  UNION
  SELECT r.id, con.conrelid FROM referencing r JOIN pg_constraint con ON con.confrelid = r.oid AND con.contype = 'f'
), affected(id, oid, is_self) AS (
  SELECT id, oid, true FROM self
  UNION SELECT id, oid, false FROM referencing
  UNION SELECT i.id, c.oid, false
          FROM input i JOIN pg_namespace n ON n.nspname = i.schema JOIN pg_class c ON c.relnamespace = n.oid
         WHERE i.mode = 'schema' AND c.relkind IN ('r', 'p', 'm')
  UNION SELECT s.id, rw.ev_class, false
          FROM self s
          JOIN pg_depend d ON d.refobjid = s.oid AND d.classid = 'pg_rewrite'::regclass
          JOIN pg_rewrite rw ON rw.oid = d.objid
          JOIN pg_class m ON m.oid = rw.ev_class AND m.relkind = 'm'
         WHERE s.mode = 'drop-cascade' AND rw.ev_class <> s.oid
)
SELECT a.id, bool_or(a.is_self) AS is_self, n.nspname AS schema, c.relname AS name,
       CASE WHEN c.relkind IN ('r', 'p') OR (c.relkind = 'm' AND c.relispopulated)
            THEN query_to_xml(format('SELECT 1 AS x FROM %I.%I LIMIT 1', n.nspname, c.relname), false, true, '')::text <> ''
            ELSE false END AS has_rows
  FROM affected a JOIN pg_class c ON c.oid = a.oid JOIN pg_namespace n ON n.oid = c.relnamespace
 GROUP BY a.id, n.nspname, c.relname, c.relkind, c.relispopulated
UNION ALL
SELECT i.id, true, i.schema, NULL, false FROM input i JOIN pg_namespace n ON n.nspname = i.schema WHERE i.mode = 'schema'`;

export async function lookUp(client: Client, lookups: readonly Lookup[]): Promise<Map<number, LookupFacts>> {
  const facts = new Map<number, LookupFacts>(lookups.map((l) => [l.id, { exists: false, holders: [] }]));
  if (lookups.length === 0) return facts;
  const { rows } = await client.query<{ id: number; is_self: boolean; schema: string; name: string | null; has_rows: boolean }>(LOOKUP_SQL, [
    JSON.stringify(lookups.map((l) => ({ id: l.id, schema: l.schema, name: l.name ?? null, mode: l.mode }))),
  ]);
  for (const row of rows) {
    const fact = facts.get(row.id)!;
    if (row.is_self) fact.exists = true;
    if (row.has_rows && row.name !== null) fact.holders.push(`${row.schema}.${row.name}`);
  }
  for (const fact of facts.values()) fact.holders.sort();
  return facts;
}

/** The schemas an unqualified name is looked up in when the migration sets no search_path. */
export async function defaultSearchPath(client: Client): Promise<string[]> {
  // name[] comes back from pg as the text '{public}': text[] is parsed into an array.
  const { rows } = await client.query<{ path: string[] }>('SELECT current_schemas(false)::text[] AS path');
  return rows[0]?.path ?? ['public'];
}
