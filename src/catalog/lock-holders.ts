import type { Client } from '../engine/connect.js';
import { dateOfEpochMillis, epochMillisSql } from '../engine/own-settings.js';

/** A session in a transaction, as a DBA would look it up: who, since when, doing what, holding which table locks. */
export interface LockHolder {
  pid: number;
  /** Its application_name, '' when it set none. */
  application: string;
  since: Date | null;
  state: string;
  /** Its query, white space folded, at most 120 characters. */
  query: string;
  /** The table locks it holds in this database (`AccessShareLock on workspace.items, ...`), null for none. */
  locks: string | null;
}

/*
 * One question for both who blocks a running migration now (the heartbeat:
 * pg_blocking_pids, whatever lock is held, a row lock included) and who held
 * table locks when a migration gave up its wait (then rolled back, so no
 * longer blocked: every session of the database in a transaction, ACCESS
 * SHARE included: a long report's SELECT blocks every ALTER TABLE).
 */
const LOCK_HOLDERS_SQL = `
SELECT a.pid, a.application_name AS application, ${epochMillisSql('a.xact_start')} AS since, a.state,
       pg_catalog.left(pg_catalog.regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 120) AS query,
       (SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('%s on %I.%I', l.mode, n.nspname, c.relname), ', ')
          FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm', 'f', 'v')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND NOT pg_catalog.starts_with(n.nspname, 'pg_')) AS locks
  FROM pg_catalog.pg_stat_activity a
 WHERE a.pid <> pg_catalog.pg_backend_pid()
   AND CASE WHEN $1::int IS NULL THEN a.datname = pg_catalog.current_database() AND a.xact_start IS NOT NULL
            ELSE a.pid = ANY (pg_catalog.pg_blocking_pids($1)) END
 ORDER BY a.xact_start`;

/**
 * The sessions of this database in a transaction, oldest first; with
 * `blocking`, only the sessions that block that backend now.
 */
export async function readLockHolders(client: Client, blocking?: number): Promise<LockHolder[]> {
  const { rows } = await client.query<Omit<LockHolder, 'since'> & { since: string | null }>(
    LOCK_HOLDERS_SQL,
    [blocking ?? null],
  );
  return rows.map((r) => ({ ...r, since: r.since === null ? null : dateOfEpochMillis(r.since) }));
}
