import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { freshDatabase, openClient, query, servers } from '../support/db.js';
import { makeProject } from '../support/project.js';

/*
 * SPEC §10, issue 26: a fleet's connections, counted by the server. While a
 * fleet runs, another connection samples pg_stat_activity for schemata's
 * backends in the fleet's databases; each migration sleeps, so that every
 * slot is in flight while it samples.
 */

const SLEEPY = 'CREATE TABLE items (id int PRIMARY KEY);\nSELECT pg_sleep(0.4);\n';

/**
 * Runs `work` while counting schemata's connections in `databases` every 20 ms: client backends only, as a parallel
 * query's workers share their leader's application_name and are no connection. Returns the work's result, the most
 * seen at once, and those backends as the server listed them then (for the message of an assertion that fails).
 */
async function countingBackends<T>(
  serverUrl: string,
  databases: readonly string[],
  work: () => Promise<T>,
): Promise<{ result: T; most: number; seen: string }> {
  const sampler = await openClient(serverUrl);
  let most = 0;
  let seen = '';
  const done = new AbortController();
  const sampling = (async () => {
    while (!done.signal.aborted) {
      const { rows } = await sampler.query<{ pid: number; at: string }>(
        `SELECT pid, format('%s %s %s %s', datname, application_name, state, backend_start) AS at FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND application_name LIKE 'schemata%' AND datname = ANY($1)`,
        [databases],
      );
      if (rows.length > most) {
        most = rows.length;
        seen = rows.map((r) => `pid ${r.pid}: ${r.at}`).join('; ');
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const result = await work();
    return { result, most, seen };
  } finally {
    done.abort();
    await sampling;
    await sampler.end();
  }
}

/** How many sessions the server has opened to `database`, asked from another database once none is left there. */
async function sessionsOpened(database: string): Promise<number> {
  const client = await openClient(servers().primary);
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      if (rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // PostgreSQL 14's statistics collector takes the counts a moment after the sessions end: read until they hold.
    let last = -1;
    for (let i = 0; i < 20; i++) {
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ n: string }>(
        'SELECT sessions AS n FROM pg_stat_database WHERE datname = $1',
        [database],
      );
      const n = Number(rows[0]!.n);
      if (n === last) return n;
      last = n;
      await new Promise((r) => setTimeout(r, 150));
    }
    return last;
  } finally {
    await client.end();
  }
}

describe("a fleet's connections, as the server counts them", () => {
  it('a fleet of tenant databases over two servers holds at most --concurrency connections to each: its work, the run lock taken in each transaction', async () => {
    // Six on one server, two on the other: two tenants in flight are mostly on the same server, so its count
    // reaches --concurrency (tenants run in no fixed order; spread evenly, two in flight could always be on two servers).
    const urls = await Promise.all(
      Array.from({ length: 8 }, (_, i) => freshDatabase(i < 6 ? 'primary' : 'data')),
    );
    const names = urls.map((u) => new URL(u).pathname.slice(1));
    const onServer = (server: 'primary' | 'data') =>
      names.filter((_, i) => i < 6 === (server === 'primary'));
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'shard', dir: 'shard', tenants: { databases: { env: 'SHARD_URLS' } } }],
      }),
      'shard/001_items.sql': SLEEPY,
      'shard/002_more.sql': 'SELECT pg_sleep(0.2);\n',
    });
    const env = { PRIMARY_DATABASE_URL: servers().primary, SHARD_URLS: urls.join(',') };
    // Both servers sampled at once, each for schemata's backends in its tenant databases.
    let onData = 0;
    let seenOnData = '';
    const { result, most, seen } = await countingBackends(
      servers().primary,
      onServer('primary'),
      () =>
        countingBackends(servers().data, onServer('data'), () =>
          migrate({ cwd, env, concurrency: 2 }),
        ).then(({ result, most, seen }) => {
          onData = most;
          seenOnData = seen;
          return result;
        }),
    );
    expect(result.error).toBeUndefined();
    expect(result.sets[0]!.tenants!.every((t) => t.ok && t.applied.length === 2)).toBe(true);
    // Tenants ran side by side, and never more than --concurrency connections to a server.
    expect(Math.max(most, onData), `${seen} / ${seenOnData}`).toBe(2);
    expect(most + onData).toBeLessThanOrEqual(2 + 2);
    // No lock outlived its transaction: none is left.
    for (const url of urls.slice(0, 2))
      expect(
        await query(
          url,
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = x'73636865'::int AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        ),
      ).toEqual([{ n: 0 }]);
  });

  it("a tenant database's run lock keeps another run out: that tenant waits, gives up (exit 5), the rest apply", async () => {
    const urls = await Promise.all(Array.from({ length: 3 }, () => freshDatabase()));
    const names = urls.map((u) => new URL(u).pathname.slice(1));
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'shard', dir: 'shard', tenants: { databases: names } }],
      }),
      'shard/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\n',
    });
    const env = { PRIMARY_DATABASE_URL: servers().primary };
    // Another run of that database, as an ordinary run holds the lock: in a transaction.
    const other = await openClient(urls[1]!);
    await other.query("BEGIN; SELECT pg_advisory_xact_lock(x'73636865'::int, x'6d617461'::int)");
    try {
      const held = await migrate({ cwd, env, lockTimeout: 1, continueOnError: true });
      const byName = new Map(held.sets[0]!.tenants!.map((t) => [t.name, t]));
      expect(byName.get(names[1]!)!.exitCode).toBe(5);
      expect(byName.get(names[1]!)!.error?.message).toContain('holds the migration lock');
      expect(byName.get(names[0]!)!.ok && byName.get(names[2]!)!.ok).toBe(true);
    } finally {
      await other.end();
    }
    const again = await migrate({ cwd, env });
    expect(again.sets[0]!.tenants!.map((t) => [t.name, t.applied.length])).toEqual(
      names
        .map((n, i) => [n, i === 1 ? 1 : 0])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('a fleet of tenant schemas holds at most --concurrency sessions and one more for their locks', async () => {
    const url = await freshDatabase();
    const database = new URL(url).pathname.slice(1);
    const tenants = Array.from(
      { length: 10 },
      (_, i) => `tenant_${String(i + 1).padStart(2, '0')}`,
    );
    await query(url, tenants.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [
          { name: 'tenant', dir: 'tenant', database: 'primary', tenants: { schemas: tenants } },
        ],
      }),
      'tenant/001_items.sql': SLEEPY,
    });
    const before = await sessionsOpened(database);
    const { result, most, seen } = await countingBackends(servers().primary, [database], () =>
      migrate({ cwd, env: { PRIMARY_DATABASE_URL: url }, concurrency: 3 }),
    );
    expect(result.error).toBeUndefined();
    expect(result.sets[0]!.tenants!.every((t) => t.ok && t.applied.length === 1)).toBe(true);
    expect(most, seen).toBe(3 + 1);
    // Every session it opened: the fleet's reading and its lock for the tracking tables (2), the tenants' locks (1),
    // the tenants' sessions (3), and the validation after them on one of those, not one of its own.
    expect((await sessionsOpened(database)) - before).toBe(2 + 1 + 3);
    expect(
      await query(
        url,
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = x'73636865'::int AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      ),
    ).toEqual([{ n: 0 }]);
  });
});
