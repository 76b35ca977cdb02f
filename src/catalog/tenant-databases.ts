import type { Client } from '../engine/connect.js';

/*
 * What a fleet of tenant databases asks a server to find its orphans: the
 * databases there that the role may enter, and whether one holds a set's
 * tracking.
 */

/** The server's databases that accept connections and that the role may connect to. */
export async function listDatabases(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT datname AS name FROM pg_catalog.pg_database
      WHERE datallowconn AND NOT datistemplate AND pg_catalog.has_database_privilege(datname, 'CONNECT')
      ORDER BY datname`,
  );
  return rows.map((r) => r.name);
}

/** Whether this database's tracking has rows of `set` (no tracking table, or none it may read: no). */
export async function holdsTrackingOf(client: Client, set: string): Promise<boolean> {
  const { rows } = await client.query<{ readable: boolean }>(
    `SELECT CASE WHEN pg_catalog.to_regclass('schemata.migrations') IS NULL THEN false
            ELSE pg_catalog.has_schema_privilege('schemata', 'USAGE')
             AND pg_catalog.has_table_privilege('schemata.migrations', 'SELECT') END AS readable`,
  );
  if (rows[0]?.readable !== true) return false;
  const held = await client.query<{ holds: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM schemata.migrations WHERE set_name = $1) AS holds',
    [set],
  );
  return held.rows[0]?.holds === true;
}
