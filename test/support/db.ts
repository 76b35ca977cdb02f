import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { madeDatabase } from './cleanup.js';
import { ENSURE_TRACKING_SQL } from '../../src/engine/tracking.js';

export const servers = () => inject('servers');
export const PASSWORD = () => inject('servers').password;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs one statement on a server's maintenance database. */
async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the given server (the suite's primary or data, or the URL of another); returns its URL. */
export async function freshDatabase(server: 'primary' | 'data' | URL = 'primary'): Promise<string> {
  const base = server instanceof URL ? server.toString() : servers()[server];
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin(base, (c) => c.query(`CREATE DATABASE ${name}`));
  madeDatabase(base, name);
  return withDatabase(base, name);
}

/** The database a URL names. */
export const databaseName = (url: string): string => new URL(url).pathname.slice(1);

/** Makes `setting` (`DateStyle = 'German'`) the database's own default: new sessions of it start with it. */
export async function setOnDatabase(url: string, setting: string): Promise<void> {
  await query(url, `ALTER DATABASE ${databaseName(url)} SET ${setting}`);
}

/** Runs a query against a database URL and returns its rows. */
export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return admin(url, async (c) => (await c.query<T>(sql, params)).rows);
}

/** The versions a set's tracking holds (a rolled-back one only once applied again), in version order; none when there is no tracking table. */
export async function trackedVersions(url: string, set: string): Promise<string[]> {
  const [tracking] = await query<{ ok: boolean }>(
    url,
    "SELECT to_regclass('schemata.migrations') IS NOT NULL AS ok",
  );
  if (!tracking) throw new Error('SELECT to_regclass(...) returned no row');
  if (!tracking.ok) return [];
  const rows = await query<{ version: string }>(
    url,
    `SELECT version FROM (SELECT DISTINCT ON (version) version, event FROM schemata.migrations WHERE set_name = $1 ORDER BY version, id DESC) latest
      WHERE event <> 'rolled-back' ORDER BY version::numeric`,
    [set],
  );
  return rows.map((r) => r.version);
}

export async function schemaExists(url: string, schema: string): Promise<boolean> {
  const [row] = await query<{ ok: boolean }>(url, 'SELECT to_regnamespace($1) IS NOT NULL AS ok', [
    schema,
  ]);
  if (!row) throw new Error('SELECT to_regnamespace(...) returned no row');
  return row.ok;
}

export async function tableExists(url: string, table: string): Promise<boolean> {
  const [row] = await query<{ ok: boolean }>(url, 'SELECT to_regclass($1) IS NOT NULL AS ok', [
    table,
  ]);
  if (!row) throw new Error('SELECT to_regclass(...) returned no row');
  return row.ok;
}

/** A client held open by the test (to hold a lock, for instance). */
export async function openClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Polls `check` every 100 ms until it holds or `ms` pass. */
export async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Whether a statement of the database sleeps on the server (pg_sleep), within 20 s: a migration to stop mid-way. */
export const sleepingIn = (url: string): Promise<boolean> =>
  waitFor(
    async () =>
      (
        await query<{ n: number }>(
          url,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()",
        )
      )[0]!.n > 0,
    20_000,
  );

/**
 * A login role that writes schemata's tracking tables (made here by the owner) and may create in the database,
 * but not in schema schemata: schemata's functions are not there for it, and each batch carries their
 * statements. Its URL.
 */
export async function roleWithoutFunctions(url: string, prefix: string): Promise<string> {
  const role = `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
  await query(url, ENSURE_TRACKING_SQL);
  await query(
    url,
    `CREATE ROLE ${role} LOGIN PASSWORD '${prefix}-pw'; GRANT CREATE ON DATABASE ${databaseName(url)} TO ${role};
     GRANT USAGE ON SCHEMA schemata TO ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role};
     GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role}`,
  );
  const deployer = new URL(url);
  deployer.username = role;
  deployer.password = `${prefix}-pw`;
  return deployer.toString();
}
