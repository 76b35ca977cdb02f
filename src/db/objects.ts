import { type ObjectRef, objectKey } from '../sql/objects.js';
import type { Client } from './connect.js';

/*
 * One round trip for any number of objects, as joins on the catalog (not a
 * function call per object), so a thousand migrations cost about what ten do.
 * A name a migration left unqualified ('' schema) is resolved through the
 * connection's search_path, as PostgreSQL resolved it when the migration ran.
 */
const EXISTING_SQL = `
WITH i AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(key text, type text, schema text, name text, tbl text)
), rel AS (
  -- the relation an object is or belongs to (a column's table): by name where the
  -- migration qualified it (a hash join), through the search_path where it did not
  SELECT i.key, i.type, i.name, c.oid
    FROM i
    JOIN pg_namespace n ON n.nspname = i.schema
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = CASE WHEN i.type = 'column' THEN i.tbl ELSE i.name END
   WHERE i.type IN ('relation', 'column') AND i.schema <> ''
  UNION ALL
  SELECT i.key, i.type, i.name, to_regclass(quote_ident(CASE WHEN i.type = 'column' THEN i.tbl ELSE i.name END))
    FROM i
   WHERE i.type IN ('relation', 'column') AND i.schema = ''
)
SELECT key FROM rel WHERE type = 'relation' AND oid IS NOT NULL
UNION ALL
SELECT rel.key FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attname = rel.name AND a.attnum > 0 AND NOT a.attisdropped
 WHERE rel.type = 'column'
UNION ALL
SELECT i.key FROM i JOIN pg_namespace n ON n.nspname = i.name WHERE i.type = 'schema'
UNION ALL
SELECT i.key FROM i JOIN pg_extension e ON e.extname = i.name WHERE i.type = 'extension'
UNION ALL
SELECT DISTINCT i.key FROM i JOIN pg_proc p ON p.proname = i.name
 WHERE i.type = 'function' AND (p.pronamespace = to_regnamespace(quote_ident(nullif(i.schema, ''))) OR (i.schema = '' AND pg_function_is_visible(p.oid)))
UNION ALL
SELECT DISTINCT i.key FROM i JOIN pg_type t ON t.typname = i.name JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE i.type = 'type' AND (n.nspname = i.schema OR (i.schema = '' AND pg_type_is_visible(t.oid)))`;

/** The keys (objectKey) of the objects that exist, out of those asked for. */
export async function existingObjects(client: Client, refs: readonly ObjectRef[]): Promise<Set<string>> {
  if (refs.length === 0) return new Set();
  const input = refs.map((ref) => ({
    key: objectKey(ref),
    type: ref.type,
    schema: 'schema' in ref ? ref.schema : '',
    name: ref.name,
    tbl: ref.type === 'column' ? ref.table : null,
  }));
  const { rows } = await client.query<{ key: string }>(EXISTING_SQL, [JSON.stringify(input)]);
  return new Set(rows.map((r) => r.key));
}
