import type { Client } from './connect.js';
import { CLEAN_SESSION_SQL } from './session.js';
import { BEGIN_OWN } from './own-settings.js';

/*
 * The run's one transaction on each database (--single-transaction): begun
 * by its first migration, committed before a migration that runs in a
 * transaction of its own or outside one and after the run's last set on
 * that database, rolled back whole at any failure. Each migration in it is
 * a savepoint of it (engine/apply.ts), measured, snapshotted and recorded as
 * always. It ends within the run's tasks, so the run lock (held by a
 * transaction on a connection of its own, released when the run closes)
 * outlives it; each migration's claim is held until it ends.
 */
export class RunTransactions {
  private readonly open = new Map<Client, Array<() => void>>();

  /** Begins the transaction on `client` unless it is open. */
  async begin(client: Client): Promise<void> {
    if (this.open.has(client)) return;
    await client.query(BEGIN_OWN);
    this.open.set(client, []);
  }

  /** A migration done in the open transaction on `client`; `undo` takes it back out of the report if the transaction is rolled back. */
  done(client: Client, undo: () => void): void {
    this.open.get(client)?.push(undo);
  }

  isOpen(client: Client): boolean {
    return this.open.has(client);
  }

  /** Commits the transaction on `client`, if one is open; how many migrations it held. A COMMIT that fails leaves it for rollbackAll. */
  async commit(client: Client): Promise<number> {
    const joined = this.open.get(client);
    if (!joined) return 0;
    await client.query('COMMIT');
    this.open.delete(client);
    return joined.length;
  }

  /** Rolls back every open transaction, whatever state it is in, and takes its migrations out of the report; how many there were. */
  async rollbackAll(): Promise<number> {
    let undone = 0;
    for (const [client, joined] of this.open) {
      await client.query(`ROLLBACK; ${CLEAN_SESSION_SQL}`).catch(() => {});
      for (const undo of joined) undo();
      undone += joined.length;
    }
    this.open.clear();
    return undone;
  }
}
