import type { QueryResultRow } from 'pg';
import type { Client } from './connect.js';
import {
  acquireSessionLock,
  type LockSession,
  releaseSessionLock,
  waitForRunLock,
} from './lock.js';
import { BEGIN_OWN } from './own-settings.js';

/** Where a run holds its run lock, when not on a connection of its own (engine/context.ts). */
export interface LockKeeper {
  /** The run takes the lock in each of its transactions (RunLockPerTransaction), not once for the run. */
  readonly perTransaction?: boolean;
  /** Takes the set's run lock for a run whose work goes on `work`; returns what releases it. */
  hold(
    work: Client,
    where: string,
    timeoutS: number,
    set: string,
    signal: AbortSignal | undefined,
  ): Promise<() => Promise<void>>;
  /**
   * Waits for this fleet's turn to run a migration; returns what ends the turn. A file outside a
   * transaction runs alone among the fleet's sessions, the others side by side: tenant schemas share
   * a database, where CREATE INDEX CONCURRENTLY waits for the end of every transaction older than its
   * build. Beside another tenant's, or a long transactional file, it waited until the statement
   * lock timeout.
   */
  turn?(outsideTransaction: boolean): Promise<() => Promise<void>>;
}

/**
 * The run locks of a fleet of tenant schemas, one database: all held by one
 * session, each a session-level lock taken when its tenant starts and released
 * when it ends, so that the fleet's connections are its tenants in flight plus
 * this one. The session stays in one open transaction, begun before the first
 * lock and ended after the last: behind PgBouncer's transaction pooling that
 * pins its server connection, so no lock is ever left on a pooled one; a
 * killed fleet's session ends, and its locks with it.
 *
 * CREATE INDEX CONCURRENTLY waits for the whole transaction of any session
 * that was running a statement when it looked for older snapshots. The lock
 * session's transaction lasts as long as the fleet: a tenant taking or giving
 * back its lock at that moment made the build wait until the statement lock
 * timeout. So its statements take their turns as a transactional file does:
 * side by side with those, never while a file runs outside a transaction.
 */
export class TenantLocks implements LockKeeper {
  private session: Promise<LockSession> | undefined;
  /** The session's statements, one after another: the tenants in flight share it. */
  private last: Promise<unknown> = Promise.resolve();
  private client: Client | undefined;
  /** Turns running side by side: transactional files, the session's statements. */
  private sharing = 0;
  /** A file outside a transaction is running. */
  private alone = false;
  /** Turns not yet given, first come first served: one alone waits for those side by side to end, and holds back those after it. */
  private readonly waiting: Array<{ alone: boolean; go: () => void }> = [];

  constructor(private readonly connect: () => Promise<Client>) {}

  turn(outsideTransaction: boolean): Promise<() => Promise<void>> {
    return new Promise((resolve) => {
      this.waiting.push({
        alone: outsideTransaction,
        go: () => {
          let ended = false;
          resolve(() => {
            // Ended once, however often it is called.
            if (!ended) {
              ended = true;
              if (outsideTransaction) this.alone = false;
              else this.sharing--;
              this.next();
            }
            return Promise.resolve();
          });
        },
      });
      this.next();
    });
  }

  /** Gives the turns that may start now, in order. */
  private next(): void {
    for (let first = this.waiting[0]; first; first = this.waiting[0]) {
      if (this.alone || (first.alone && this.sharing > 0)) return;
      this.waiting.shift();
      if (first.alone) this.alone = true;
      else this.sharing++;
      first.go();
    }
  }

  async hold(
    _work: Client,
    where: string,
    timeoutS: number,
    set: string,
    signal: AbortSignal | undefined,
  ): Promise<() => Promise<void>> {
    const session = await (this.session ??= this.open());
    await acquireSessionLock(session, where, timeoutS, set, signal);
    return () => releaseSessionLock(session, set);
  }

  private async open(): Promise<LockSession> {
    const client = await this.connect();
    try {
      await client.query(
        `${BEGIN_OWN}; SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0`,
      );
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return {
      query: <R extends QueryResultRow>(text: string, values?: unknown[]) => {
        const next = this.last.then(async () => {
          const end = await this.turn(false);
          try {
            return await client.query<R>(text, values);
          } finally {
            await end();
          }
        });
        this.last = next.catch(() => undefined);
        return next;
      },
    };
  }

  /** Releases every lock still held, ends the transaction and the session. */
  async end(): Promise<void> {
    await this.session?.catch(() => undefined);
    await this.last;
    const client = this.client;
    this.session = undefined;
    this.client = undefined;
    if (!client) return;
    await client.query('SELECT pg_advisory_unlock_all(); COMMIT').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/**
 * The run lock of a fleet's tenant database: taken at the start of each
 * transaction the tenant's run opens (each migration's batch, the tracking
 * setup, the reading before its plan), tried and retried holding nothing
 * (engine/lock.ts runLockStatement), so that the tenant holds one connection,
 * its work, and behind PgBouncer's transaction pooling no lock outlives its
 * transaction. A migration is still applied once: its claim, in its
 * transaction, makes a second run skip it. Only a file run outside a
 * transaction holds the lock for its whole run, on a connection of its own
 * (engine/context.ts lockForStep): between its statements nothing else could.
 */
export class RunLockPerTransaction implements LockKeeper {
  readonly perTransaction = true;

  /** Waits until no other run holds the lock; holds nothing. */
  async hold(
    work: Client,
    where: string,
    timeoutS: number,
    set: string,
    signal: AbortSignal | undefined,
  ): Promise<() => Promise<void>> {
    await waitForRunLock(work, where, timeoutS, set, signal);
    return () => Promise.resolve();
  }
}
