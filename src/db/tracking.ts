import type { MigrationFile } from '../config/discover.js';
import type { Effects } from '../sql/objects.js';
import type { Client } from './connect.js';

/** One row of `schemata.migrations`: what tracking claims about a migration. */
export interface TrackedMigration {
  version: string;
  name: string;
  file: string;
  checksum: string;
  /** `running` only while a migration runs outside a transaction. */
  state: 'applied' | 'running' | 'failed';
  appliedAt: Date;
  durationMs: number | null;
  /** What the migration created, dropped and renamed, read when it was applied; null when unknown. */
  effects: Effects | null;
}

/*
 * Our own schema, so that it never collides with another tool's
 * schema_migrations. The DO block checks existence first: CREATE SCHEMA IF NOT
 * EXISTS checks the CREATE privilege even when the schema is there, and a
 * deploy role often has no such privilege once the table exists. Runs under
 * the advisory lock, so concurrent runs cannot race on it.
 */
export const ENSURE_TRACKING_SQL = `DO $schemata$
BEGIN
  IF to_regnamespace('schemata') IS NULL THEN
    CREATE SCHEMA schemata;
  END IF;
  IF to_regclass('schemata.migrations') IS NULL THEN
    CREATE TABLE schemata.migrations (
      set_name    text        NOT NULL,
      version     text        NOT NULL,
      name        text        NOT NULL,
      file        text        NOT NULL,
      checksum    text        NOT NULL,
      state       text        NOT NULL CHECK (state IN ('applied', 'running', 'failed')),
      applied_at  timestamptz NOT NULL DEFAULT now(),
      duration_ms integer,
      PRIMARY KEY (set_name, version)
    );
    COMMENT ON TABLE schemata.migrations IS 'Migrations applied by schemata, per set. Do not edit by hand: use schemata migrate --repair or schemata baseline.';
  END IF;
  -- What each migration should have made, so that validation need not parse files again.
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'schemata.migrations'::regclass AND attname = 'objects') THEN
    ALTER TABLE schemata.migrations ADD COLUMN objects jsonb;
  END IF;
END
$schemata$;`;

const SELECT_TRACKING = `SELECT version, name, file, checksum, state, applied_at, duration_ms, objects
  FROM schemata.migrations WHERE set_name = $1 ORDER BY version::numeric`;

interface Row {
  version: string;
  name: string;
  file: string;
  checksum: string;
  state: TrackedMigration['state'];
  applied_at: Date;
  duration_ms: number | null;
  objects: Effects | null;
}

const toTracked = (r: Row): TrackedMigration => ({
  version: r.version,
  name: r.name,
  file: r.file,
  checksum: r.checksum,
  state: r.state,
  appliedAt: r.applied_at,
  durationMs: r.duration_ms,
  effects: r.objects,
});

/** Creates the tracking table if needed (call under the lock). */
export async function ensureTracking(client: Client): Promise<void> {
  await client.query(ENSURE_TRACKING_SQL);
}

/** The set's tracking rows; none when the table does not exist yet (read-only callers). */
export async function readTracking(client: Client, set: string): Promise<TrackedMigration[]> {
  try {
    const { rows } = await client.query<Row>(SELECT_TRACKING, [set]);
    return rows.map(toTracked);
  } catch (error) {
    const code = (error as { code?: string }).code;
    // undefined_table / invalid_schema_name: nothing was ever tracked here.
    if (code === '42P01' || code === '3F000') return [];
    throw error;
  }
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The statement that records a migration as applied. It goes into the same
 * simple-query batch as the migration, so it carries its values as literals;
 * the duration is measured by the server from the start of that batch.
 */
export function recordAppliedSql(set: string, file: MigrationFile, effects: Effects | null): string {
  const objects = effects ? `${literal(JSON.stringify(effects))}::jsonb` : 'NULL';
  return `INSERT INTO schemata.migrations (set_name, version, name, file, checksum, state, applied_at, duration_ms, objects)
VALUES (${literal(set)}, ${literal(file.version)}, ${literal(file.name)}, ${literal(file.file)}, ${literal(file.checksum)}, 'applied', now(),
  (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer, ${objects})
ON CONFLICT (set_name, version) DO UPDATE SET name = EXCLUDED.name, file = EXCLUDED.file, checksum = EXCLUDED.checksum,
  state = 'applied', applied_at = EXCLUDED.applied_at, duration_ms = EXCLUDED.duration_ms, objects = EXCLUDED.objects;`;
}

/*
 * A migration that runs outside a transaction is tracked in three steps, so
 * that a failure (or a kill) partway leaves a row saying so: running, then
 * applied or failed. `status` and validation call such a row dirty.
 */
export async function recordRunning(client: Client, set: string, file: MigrationFile, effects: Effects | null): Promise<void> {
  await client.query(
    `INSERT INTO schemata.migrations (set_name, version, name, file, checksum, state, applied_at, duration_ms, objects)
     VALUES ($1, $2, $3, $4, $5, 'running', now(), NULL, $6)
     ON CONFLICT (set_name, version) DO UPDATE SET name = EXCLUDED.name, file = EXCLUDED.file, checksum = EXCLUDED.checksum,
       state = 'running', applied_at = EXCLUDED.applied_at, duration_ms = NULL, objects = EXCLUDED.objects`,
    [set, file.version, file.name, file.file, file.checksum, effects === null ? null : JSON.stringify(effects)],
  );
}

/** baseline and repair: record migrations as applied without running them (one statement for all). */
export async function recordWithoutRunning(client: Client, set: string, rows: ReadonlyArray<{ file: MigrationFile; effects: Effects | null }>): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO schemata.migrations (set_name, version, name, file, checksum, state, applied_at, duration_ms, objects)
     SELECT $1, r.version, r.name, r.file, r.checksum, 'applied', now(), NULL, r.objects
       FROM jsonb_to_recordset($2::jsonb) AS r(version text, name text, file text, checksum text, objects jsonb)
     ON CONFLICT (set_name, version) DO UPDATE SET name = EXCLUDED.name, file = EXCLUDED.file, checksum = EXCLUDED.checksum,
       state = 'applied', objects = EXCLUDED.objects`,
    [set, JSON.stringify(rows.map(({ file, effects }) => ({ version: file.version, name: file.name, file: file.file, checksum: file.checksum, objects: effects })))],
  );
}

export async function recordFinished(client: Client, set: string, version: string, state: 'applied' | 'failed', durationMs: number): Promise<void> {
  await client.query('UPDATE schemata.migrations SET state = $3, duration_ms = $4 WHERE set_name = $1 AND version = $2', [set, version, state, durationMs]);
}
