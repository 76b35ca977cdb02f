import type { Client } from '../engine/connect.js';

/** A table's size as the catalog knows it: rows estimated by the last ANALYZE (undefined before one), bytes with its indexes and TOAST. */
export interface TableSize {
  rows: number | undefined;
  bytes: number;
}

/*
 * One round trip for every table named, each name as a statement wrote it
 * (to_regclass resolves an unqualified one through the search_path, as the
 * migration would). reltuples is an estimate, which is all a warning needs;
 * it is -1 (PostgreSQL 14 and later) or 0 on a table never analyzed.
 */
const TABLE_SIZES_SQL = `
SELECT t.name, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::float8 END AS rows,
       c.relpages, pg_catalog.pg_total_relation_size(c.oid)::float8 AS bytes
  FROM pg_catalog.unnest($1::text[]) AS t(name)
  JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(t.name)`;

/** The sizes of the tables that exist among `names`; a name that is no table here is left out. */
export async function readTableSizes(
  client: Client,
  names: readonly string[],
): Promise<Map<string, TableSize>> {
  const result = await client.query<{
    name: string;
    rows: number | null;
    relpages: number;
    bytes: number;
  }>(TABLE_SIZES_SQL, [[...new Set(names)]]);
  return new Map(
    result.rows.map((r) => [
      r.name,
      // reltuples 0 with pages is "never analyzed" before PostgreSQL 14: no count, not an empty table.
      {
        rows: r.rows === null || (r.rows === 0 && r.relpages > 0) ? undefined : r.rows,
        bytes: r.bytes,
      },
    ]),
  );
}
