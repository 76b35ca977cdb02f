import { claimCheckSql, FUNCTIONS, MIGRATION_TAKEN_SQLSTATE } from './functions.js';
import { quoteLiteral } from '../sql/quote.js';
import type { TrackingFeatures } from './tracking.js';
import type { QueryResult, QueryResultRow } from 'pg';
import { LockTimeoutError, StoppedError } from '../errors.js';
import { type Client, keepIdleSessionSql } from './connect.js';
import { sleep } from './sleep.js';
import { BEGIN_OWN, dateOfEpochMillis, epochMillisSql } from './own-settings.js';

/*
 * One advisory lock per database ('schemata' in ASCII), held for the run by a
 * transaction of its own on a connection of its own: a transaction keeps its
 * server connection behind PgBouncer's transaction pooling, and its end (a
 * COMMIT, or the session gone when a run is killed) releases the lock, so no
 * pooled server connection is ever left holding it. The transaction takes no
 * snapshot while it holds the lock idle, so CREATE INDEX CONCURRENTLY does not
 * wait for it. The two-int4 form shows up in pg_locks as classid/objid, which
 * lets a waiter name the holder.
 *
 * A waiter never waits in a statement. A statement waiting for the lock holds
 * a snapshot; CREATE INDEX CONCURRENTLY, run by the holder, waits for every
 * transaction that had a snapshot older than its own to end, and the waiter's
 * would end only once the holder's run had: a deadlock that only the waiter's
 * timeout broke (issue 24). So the waiter tries, each try a transaction of its
 * own, rolled back at once when another run holds the lock (an index build
 * that saw the try waits for that transaction's end, not for the wait), and
 * sleeps between tries holding nothing: no snapshot, no transaction, behind
 * PgBouncer no server connection.
 */
const LOCK_CLASS = 0x73636865; // 'sche'
const LOCK_OBJECT = 0x6d617461; // 'mata'

/**
 * The run lock's objid: one per database, except for a tenant schema of a
 * fleet (its set named `set/tenant`), whose lock is its own so that tenants
 * of one database migrate side by side. An even 31-bit FNV-1a hash of the
 * name, so that the claim's objid + 1 is the tenant's too.
 */
export function lockObject(set: string | undefined): number {
  if (!set?.includes('/')) return LOCK_OBJECT;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(set, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  const key = hash & 0x7ffffffe;
  return key === LOCK_OBJECT - 1 || key === LOCK_OBJECT ? key + 2 : key;
}

/** What the lock asks of a session: a statement at a time. */
export interface LockSession {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** Between two tries for the run lock: soon at first (a run about to end), then once a second. */
const TRY_AGAIN_MS = [50, 100, 200, 400, 800, 1000];

/**
 * Waits up to `timeoutS` for the lock on `client`, which then holds it until
 * releaseLock; `signal` ends the wait. A role's or database's
 * statement_timeout and idle_in_transaction_session_timeout are set aside for
 * the holding transaction: holding is bounded by the run alone.
 */
export async function acquireLock(
  client: Client,
  where: string,
  timeoutS: number,
  set?: string,
  signal?: AbortSignal,
): Promise<void> {
  const object = lockObject(set);
  await waitForLock(client, where, timeoutS, object, signal, async () => {
    // The simple protocol, constants in the text: an extended-protocol portal would stay open with the
    // transaction, holding the snapshot that CREATE INDEX CONCURRENTLY waits for.
    const results = (await client.query(
      `${BEGIN_OWN}; SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0; SELECT pg_try_advisory_xact_lock(${LOCK_CLASS}, ${object}) AS ok`,
    )) as unknown as QueryResult<{ ok: boolean }>[];
    if (results.at(-1)?.rows[0]?.ok === true) return true;
    // What a DBA sees in pg_stat_activity of a waiting run, between its tries, idle (and kept open while it is).
    await client.query(
      `ROLLBACK; SELECT ${keepIdleSessionSql(client)} /* schemata waits for the run lock: pg_try_advisory_xact_lock(${LOCK_CLASS}, ${object}) again soon */`,
    );
    return false;
  });
  try {
    await waitForMigrationInFlight(client, where, timeoutS, object, signal);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/*
 * A run killed in the middle of a migration leaves that migration running on
 * the server: its transaction was sent whole and runs on to its COMMIT (or
 * until the server notices, within client_connection_check_interval, that
 * its client is gone), while the killed run's lock went with its connection.
 * A run that took the lock then read the tracking before that COMMIT and the
 * catalog after it: the migration's table there, its record not, a drift that
 * was not one. So the lock's holder waits, holding it, until no migration is
 * in flight: each holds the claim's key (objid + 1) in its transaction,
 * tried here in a savepoint that lets it go at once.
 */
async function waitForMigrationInFlight(
  client: LockSession,
  where: string,
  timeoutS: number,
  object: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  await waitForLock(client, where, timeoutS, object + 1, signal, async () => {
    const results = (await client.query(
      `SAVEPOINT schemata_in_flight; SELECT pg_try_advisory_xact_lock(${LOCK_CLASS}, ${object + 1}) AS ok; ROLLBACK TO SAVEPOINT schemata_in_flight`,
    )) as unknown as QueryResult<{ ok: boolean }>[];
    return results[1]?.rows[0]?.ok === true;
  });
}

/**
 * The run lock as a session-level advisory lock on `client`, the session that
 * does the run's work (a tenant database of a fleet: one connection per tenant
 * in flight, not two), or one that holds many tenants' locks; released by
 * releaseSessionLock or the session's end. Same key, same waits and the same
 * conflicts as acquireLock's: a run of either kind waits for the other. A
 * session-level lock stays on the server connection that took it: behind
 * PgBouncer's transaction pooling only a session pinned by an open
 * transaction may take it (engine/tenant-locks.ts).
 */
export async function acquireSessionLock(
  client: LockSession,
  where: string,
  timeoutS: number,
  set: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const object = lockObject(set);
  await waitForLock(client, where, timeoutS, object, signal, async () => {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_lock(${LOCK_CLASS}, ${object}) AS ok /* schemata's run lock */`,
    );
    return rows[0]?.ok === true;
  });
  try {
    await waitForMigrationInFlight(client, where, timeoutS, object, signal);
  } catch (error) {
    await releaseSessionLock(client, set).catch(() => undefined);
    throw error;
  }
}

/** Releases what acquireSessionLock took. */
export async function releaseSessionLock(
  client: LockSession,
  set: string | undefined,
): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${LOCK_CLASS}, ${lockObject(set)})`);
}

/** Tries `attempt` until it takes the lock, sleeping between tries holding nothing, up to `timeoutS` or the signal. */
async function waitForLock(
  client: LockSession,
  where: string,
  timeoutS: number,
  object: number,
  signal: AbortSignal | undefined,
  attempt: () => Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + timeoutS * 1000;
  for (let tries = 0; ; tries++) {
    if (await attempt()) return;
    const left = deadline - performance.now();
    if (left <= 0 || signal?.aborted) break;
    await sleep(Math.min(TRY_AGAIN_MS[Math.min(tries, TRY_AGAIN_MS.length - 1)]!, left), signal);
  }
  if (signal?.aborted) {
    const by = String(signal.reason ?? 'SIGTERM');
    throw new StoppedError(
      by,
      `${where}: stopped by ${by} while waiting for another run's migration lock; nothing was applied.`,
      'Run the same command again.',
    );
  }
  throw new LockTimeoutError(where, await lockHolder(client, object), timeoutS);
}

/*
 * The run lock per transaction (a fleet's tenant database, engine/tenant-locks.ts
 * RunLockPerTransaction): each transaction of the run takes it first, with a
 * try, and holds it to its end; a busy lock fails the transaction at once
 * (RUN_LOCK_BUSY_SQLSTATE), which is rolled back and tried again after a
 * sleep holding nothing, as waitForLock waits. A transaction's lock ends with
 * it, so behind PgBouncer's transaction pooling nothing is left on a pooled
 * server connection, and the run needs no connection besides its work.
 */
export const RUN_LOCK_BUSY_SQLSTATE = 'SCH08';

/** The statement that takes the run lock in the transaction it runs in, or fails it with RUN_LOCK_BUSY_SQLSTATE. */
export function runLockStatement(set: string | undefined): string {
  return `DO $schemata_run_lock$ BEGIN
  IF NOT pg_catalog.pg_try_advisory_xact_lock(${LOCK_CLASS}, ${lockObject(set)}) THEN
    RAISE EXCEPTION USING ERRCODE = '${RUN_LOCK_BUSY_SQLSTATE}', MESSAGE = 'another run holds the run lock';
  END IF;
END $schemata_run_lock$`;
}

/** How long to sleep, holding nothing, before the `tries`-th try again for a busy run lock. */
export function runLockPause(tries: number): number {
  return TRY_AGAIN_MS[Math.min(tries, TRY_AGAIN_MS.length - 1)]!;
}

/** The error of a run that waited `timeoutS` for a run lock taken per transaction, naming the holder. */
export async function runLockTimedOut(
  client: LockSession,
  where: string,
  timeoutS: number,
  set: string | undefined,
): Promise<LockTimeoutError> {
  return new LockTimeoutError(
    where,
    await lockHolder(client, lockObject(set)).catch(() => undefined),
    timeoutS,
  );
}

/**
 * Runs `work` on `client` in a transaction that holds the run lock, taken per
 * transaction: tried, and while another run holds it, rolled back and tried
 * again after a sleep holding nothing, up to `timeoutS` or the signal.
 */
export async function inRunLockedTransaction<T>(
  client: Client,
  where: string,
  timeoutS: number,
  set: string | undefined,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  await waitForLock(client, where, timeoutS, lockObject(set), signal, async () => {
    const results = (await client.query(
      `${BEGIN_OWN}; SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0; SELECT pg_try_advisory_xact_lock(${LOCK_CLASS}, ${lockObject(set)}) AS ok`,
    )) as unknown as QueryResult<{ ok: boolean }>[];
    if (results.at(-1)?.rows[0]?.ok === true) return true;
    await client.query('ROLLBACK');
    return false;
  });
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Waits, holding nothing between tries, until no other run holds the run lock; takes nothing. */
export async function waitForRunLock(
  client: Client,
  where: string,
  timeoutS: number,
  set: string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  await inRunLockedTransaction(client, where, timeoutS, set, signal, () => Promise.resolve());
}

/** Ends the transaction that holds the lock. */
export async function releaseLock(client: Client): Promise<void> {
  await client.query('COMMIT');
}

async function lockHolder(
  client: LockSession,
  object: number,
): Promise<{ pid: number; since: Date } | undefined> {
  const { rows } = await client.query<{ pid: number; since: string }>(
    `SELECT a.pid, ${epochMillisSql('a.backend_start')} AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [LOCK_CLASS, object],
  );
  const holder = rows[0];
  return holder && { pid: holder.pid, since: dateOfEpochMillis(holder.since) };
}

/*
 * Each migration also takes, inside its own transaction, a second advisory
 * lock (the run lock's key with objid + 1), then checks that its latest
 * tracking event is still the one the plan saw. Concurrent runs (through
 * PgBouncer, or a rerun while a killed run's orphan still works) apply each
 * migration once: the second waits for the first's transaction, sees the
 * new event, and skips it (MIGRATION_TAKEN_SQLSTATE).
 * That wait is in a statement, but what it waits for is a migration's own
 * transaction, never a run: a migration outside a transaction (CREATE INDEX
 * CONCURRENTLY) claims in a transaction of its own that commits before its
 * statements run, so no index build waits for a claim that waits for it.
 */
export { MIGRATION_TAKEN_SQLSTATE };

/** The statements (without their `;`) that claim a migration inside its transaction. */
export function onceStatements(
  set: string,
  version: string,
  expectedEvent: number | null,
  waitMs: number,
  features: TrackingFeatures,
  runLockPerTransaction = false,
): string[] {
  const expected = expectedEvent === null ? 'NULL' : String(Math.trunc(expectedEvent));
  return [
    // The run lock first, where this run takes it per transaction: the claim is then never waited for behind a run.
    ...(runLockPerTransaction ? [runLockStatement(set)] : []),
    `SET LOCAL lock_timeout = ${Math.max(1, Math.round(waitMs))}`,
    `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${lockObject(set) + 1})`,
    features.functions
      ? `SELECT ${FUNCTIONS.claim}(${quoteLiteral(set)}, ${quoteLiteral(version)}, ${expected})`
      : `DO $schemata_once$ BEGIN
  ${claimCheckSql(quoteLiteral(set), quoteLiteral(version), expected)}
END $schemata_once$`,
  ];
}
