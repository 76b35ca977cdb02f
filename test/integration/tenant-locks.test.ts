import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { TenantLocks } from '../../src/engine/tenant-locks.js';
import { freshDatabase, openClient } from '../support/db.js';

/*
 * A fleet of tenant schemas holds its tenants' run locks on one session, in one
 * open transaction (engine/tenant-locks.ts). CREATE INDEX CONCURRENTLY waits for
 * the whole transaction of any session that was running a statement when it
 * looked for older snapshots: a tenant taking or giving back its lock at that
 * moment made a tenant's index build wait for the end of the fleet, until the
 * statement lock timeout. Against the server, whose waits these are.
 */
describe("a fleet's lock session and CREATE INDEX CONCURRENTLY", () => {
  let url: string;
  let other: pg.Client;
  beforeAll(async () => {
    url = await freshDatabase();
    other = await openClient(url);
    await other.query('CREATE TABLE t AS SELECT pg_catalog.generate_series(1, 100000) AS n');
  });
  afterAll(async () => {
    await other.end();
  });

  it('runs no statement during the turn of a file outside a transaction: tenants starting and ending meanwhile wait for its end, and the build never waits for the session', async () => {
    const locks = new TenantLocks(() => openClient(url));
    const first = await locks.hold(other, 'tenant a', 5, 'tenant/a', undefined);
    const endTurn = await locks.turn(true);
    const churning = { on: true, cycles: 0 };
    // Tenants starting and ending, one after another, as long as the turn lasts and a little after.
    const churn = (async () => {
      while (churning.on) {
        const release = await locks.hold(other, 'tenant b', 5, 'tenant/b', undefined);
        await release();
        churning.cycles++;
      }
    })();
    // Built three times: each build looks for older snapshots once, near its end.
    for (let i = 0; i < 3; i++) {
      await other.query("SET lock_timeout = '2s'");
      await other.query('CREATE INDEX CONCURRENTLY t_n ON t (n)');
      await other.query('DROP INDEX t_n');
    }
    expect(churning.cycles).toBe(0);
    await endTurn();
    await expect.poll(() => churning.cycles, { timeout: 5000 }).toBeGreaterThan(0);
    churning.on = false;
    await churn;
    await first();
    await locks.end();
    // pg_locks lists the whole server's locks: other test files hold theirs in their own databases.
    const held = await other.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_locks
        WHERE locktype = 'advisory'
          AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
    );
    expect(held.rows).toEqual([{ n: 0 }]);
  });
});
