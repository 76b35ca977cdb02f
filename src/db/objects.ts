import { type ObjectRef, objectKey } from '../sql/objects.js';
import type { Client } from './connect.js';

/*
 * One round trip for any number of objects. A name the migration left
 * unqualified ('' schema) is resolved through the connection's search_path,
 * as PostgreSQL resolved it when the migration ran.
 */
const EXISTING_SQL = `
SELECT i.key
  FROM jsonb_to_recordset($1::jsonb) AS i(key text, type text, schema text, name text, tbl text)
 WHERE CASE i.type
         WHEN 'schema' THEN to_regnamespace(quote_ident(i.name)) IS NOT NULL
         WHEN 'extension' THEN EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = i.name)
         WHEN 'relation' THEN to_regclass(concat_ws('.', nullif(quote_ident(i.schema), '""'), quote_ident(i.name))) IS NOT NULL
         WHEN 'column' THEN EXISTS (
           SELECT 1 FROM pg_attribute a
            WHERE a.attrelid = to_regclass(concat_ws('.', nullif(quote_ident(i.schema), '""'), quote_ident(i.tbl)))
              AND a.attname = i.name AND a.attnum > 0 AND NOT a.attisdropped)
         WHEN 'function' THEN EXISTS (
           SELECT 1 FROM pg_proc p
            WHERE p.proname = i.name
              AND CASE WHEN i.schema = '' THEN pg_function_is_visible(p.oid) ELSE p.pronamespace = to_regnamespace(quote_ident(i.schema)) END)
         WHEN 'type' THEN to_regtype(concat_ws('.', nullif(quote_ident(i.schema), '""'), quote_ident(i.name))) IS NOT NULL
         ELSE false
       END`;

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
