import { query } from './db.js';

/** What a database holds in the project's schemas, as comparable text: tables, columns, indexes (with validity). */
export async function catalogSnapshot(url: string): Promise<string[]> {
  const rows = await query<{ line: string }>(
    url,
    `SELECT format('%s.%s %s', n.nspname, c.relname, c.relkind) ||
            coalesce(' (' || (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                              FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) || ')', '') ||
            coalesce((SELECT CASE WHEN i.indisvalid THEN ' valid' ELSE ' INVALID' END FROM pg_index i WHERE i.indexrelid = c.oid), '') AS line
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('config', 'customer', 'workspace', 'reference')
      ORDER BY 1`,
  );
  return rows.map((r) => r.line);
}
