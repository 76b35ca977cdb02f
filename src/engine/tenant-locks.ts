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
   * Waits for this fleet's turn to run a file outside a transaction; returns what ends the turn.
   * Tenant schemas share a database, where CREATE INDEX CONCURRENTLY waits for every older
   * transaction: two of them side by side wait for each other's until the statement lock timeout.
   */
  outsideTransaction?(): Promise<() => Promise<void>>;
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
 * Between its short statements the transaction holds no snapshot, but CREATE
 * INDEX CONCURRENTLY waits for the whole transaction of any session that was
 * running a statement when it looked for older snapshots: a tenant starting or
 * ending at that moment made it wait for the fleet's end, until the statement
 * lock timeout. So the session's statements and the turns to run a file
 * outside a transaction share one queue: no statement runs during a turn.
 */
export class TenantLocks implements LockKeeper {
  private session: Promise<LockSession> | undefined;
  /** The session's statements and the turns outside a transaction, one after another: the tenants in flight share it. */
  private last: Promise<unknown> = Promise.resolve();
  private client: Client | undefined;

  constructor(private readonly connect: () => Promise<Client>) {}

  async outsideTransaction(): Promise<() => Promise<void>> {
    const before = this.last;
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.last = before.then(() => ended);
    await before;
    return () => {
      end();
      return Promise.resolve();
    };
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
        const next = this.last.then(() => client.query<R>(text, values));
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
