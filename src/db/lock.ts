import { LockTimeoutError } from '../errors.js';
import type { Client } from './connect.js';

/*
 * One session-level advisory lock per database ('schemata' in ASCII). PostgreSQL
 * releases it with the session, so a killed run can never leave a stale lock.
 * The two-int4 form shows up in pg_locks as classid/objid, which lets a waiter
 * name the holder.
 */
const LOCK_CLASS = 0x73636865; // 'sche'
const LOCK_OBJECT = 0x6d617461; // 'mata'

/**
 * Waits up to `timeoutS` for the lock. lock_timeout applies to advisory locks,
 * so the wait is one statement, not a polling loop; SET and the wait share an
 * implicit transaction, so a timeout rolls the SET back too.
 */
export async function acquireLock(client: Client, where: string, timeoutS: number): Promise<void> {
  if (timeoutS === 0) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_CLASS, LOCK_OBJECT]);
    if (rows[0]?.ok) return;
  } else {
    const ms = Math.max(1, Math.round(timeoutS * 1000));
    try {
      // A role's or database's statement_timeout must not turn waiting into a failure: lock_timeout alone bounds it.
      await client.query(`SET statement_timeout = 0; SET lock_timeout = ${ms}; SELECT pg_advisory_lock(${LOCK_CLASS}, ${LOCK_OBJECT}); RESET lock_timeout; RESET statement_timeout;`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error; // lock_not_available
    }
  }
  throw new LockTimeoutError(where, await lockHolder(client), timeoutS);
}

async function lockHolder(client: Client): Promise<{ pid: number; since: Date } | undefined> {
  const { rows } = await client.query<{ pid: number; since: Date }>(
    `SELECT a.pid, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [LOCK_CLASS, LOCK_OBJECT],
  );
  return rows[0];
}
