import { hasRowsSql } from './rows.js';
import type { Client } from '../engine/connect.js';
import { readWithOwnSettings } from '../engine/own-settings.js';
import { quoteLiteral } from '../sql/quote.js';

/** What the catalog says about one expected schema. */
export interface SchemaFacts {
  name: string;
  exists: boolean;
  /** It holds a table, view, sequence, index, function or type. */
  holdsObjects: boolean;
  /** At least one of its tables holds a row: data protection is active. Null when not asked. */
  hasData: boolean | null;
}

/*
 * One round trip for every schema of a set (its values written in, so that
 * the transaction's settings and the query go as one batch). "Holds data"
 * asks the tables for a row as data protection does (hasRowsSql: exact, and
 * row-level security cannot hide them).
 */
const schemaFactsSql = (schemas: readonly string[], data: boolean) => `
SELECT s.name,
       n.oid IS NOT NULL AS exists,
       -- Whether, not how many: each stops at the first (counting read the three catalogs whole for every schema).
       COALESCE(EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typnamespace = n.oid AND t.typtype IN ('d', 'e', 'r', 'm')), false)
       AS holds_objects,
       CASE WHEN ${data} THEN EXISTS (
         SELECT 1 FROM (SELECT ${hasRowsSql('c.oid')} AS held FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm') OFFSET 0) AS t
          WHERE t.held
       ) END AS has_data
  FROM unnest(ARRAY[${schemas.map(quoteLiteral).join(', ')}]::text[]) WITH ORDINALITY AS s(name, ord)
  LEFT JOIN pg_namespace n ON n.nspname = s.name
 ORDER BY s.ord`;

/**
 * `withData` asks the tables of the schemas for a row: what status shows,
 * at a cost that grows with the empty tables, so migrate and validate skip it (data
 * protection asks the tables it needs, exactly).
 */
export async function readSchemaFacts(
  client: Client,
  schemas: readonly string[],
  { withData }: { withData: boolean },
): Promise<SchemaFacts[]> {
  type Row = { name: string; exists: boolean; holds_objects: boolean; has_data: boolean | null };
  const read = (data: boolean) =>
    readWithOwnSettings<Row>(
      client,
      // Asking a table for a row waits behind another session's ACCESS EXCLUSIVE lock: not for long.
      `${data ? `SET LOCAL lock_timeout = ${DATA_LOCK_TIMEOUT_MS}; ` : ''}${schemaFactsSql(schemas, data)}`,
    );
  const shaped = (rows: Row[]) =>
    rows.map((r) => ({
      name: r.name,
      exists: r.exists,
      holdsObjects: r.holds_objects,
      hasData: r.has_data,
    }));
  if (!withData) return shaped(await read(false));
  try {
    return shaped(await read(true));
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error;
  }
  // A table was locked: whether it holds data stays unknown (null).
  return shaped(await read(false));
}

const DATA_LOCK_TIMEOUT_MS = 2000;

/*
 * The same facts without data for many schemas (a fleet's tenant schemas),
 * in one pass over each catalog table instead of one per schema.
 */
const MANY_FACTS_SQL = `
WITH s AS MATERIALIZED (SELECT n.oid, n.nspname::text AS name FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($1::text[])),
counts AS MATERIALIZED (
  SELECT c.relnamespace AS ns, count(*) AS n FROM pg_catalog.pg_class c WHERE c.relnamespace IN (SELECT oid FROM s) GROUP BY 1
  UNION ALL
  SELECT p.pronamespace, count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace IN (SELECT oid FROM s) GROUP BY 1
  UNION ALL
  SELECT t.typnamespace, count(*) FROM pg_catalog.pg_type t
   WHERE t.typnamespace IN (SELECT oid FROM s) AND t.typtype IN ('d', 'e', 'r', 'm') GROUP BY 1
)
SELECT s.name, COALESCE(sum(counts.n), 0)::int8 AS objects
  FROM s LEFT JOIN counts ON counts.ns = s.oid GROUP BY s.name`;

/** readSchemaFacts without data, for many schemas at once: by schema name. */
export async function readManySchemaFacts(
  client: Client,
  schemas: readonly string[],
): Promise<Map<string, SchemaFacts>> {
  const { rows } = await client.query<{ name: string; objects: string }>(MANY_FACTS_SQL, [schemas]);
  const found = new Map(rows.map((r) => [r.name, Number(r.objects)]));
  return new Map(
    schemas.map((name) => [
      name,
      { name, exists: found.has(name), holdsObjects: (found.get(name) ?? 0) > 0, hasData: null },
    ]),
  );
}
