import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, status } from '../../src/api.js';
import { databaseName, freshDatabase, openClient, query, servers, waitFor } from '../support/db.js';
import { makeProject } from '../support/project.js';
import { startEmbeddedServer } from '../support/global-setup.js';

/*
 * SPEC §10, issue 26: a fleet's connections, counted by the server. While a
 * fleet runs, another connection samples pg_stat_activity for schemata's
 * backends in the fleet's databases; each migration sleeps, so that every
 * slot is in flight while it samples.
 */

/*
 * Servers of these tests' own, where the suite runs embedded ones: another test's `status` of a fleet of
 * databases visits every database of its servers looking for orphans, and would add to the counts.
 */
let own:
  | { root: string; stops: Array<() => Promise<void>>; urls: { primary: URL; data: URL } }
  | undefined;
beforeAll(async () => {
  if (process.env.TEST_DATABASE_URL || process.env.TEST_PROVIDER) return;
  const root = mkdtempSync(join(tmpdir(), 'schemata-fleet-connections-'));
  const [primary, data] = await Promise.all([
    startEmbeddedServer(root, 'primary'),
    startEmbeddedServer(root, 'data'),
  ]);
  own = {
    root,
    stops: [primary.stop, data.stop],
    urls: { primary: new URL(primary.url), data: new URL(data.url) },
  };
}, 120_000);
afterAll(async () => {
  await Promise.all(own?.stops.map((stop) => stop()) ?? []);
  if (own) rmSync(own.root, { recursive: true, force: true });
});
const server = (which: 'primary' | 'data') => own?.urls[which].toString() ?? servers()[which];
const fresh = (which: 'primary' | 'data' = 'primary') => freshDatabase(own?.urls[which] ?? which);

const SLEEPY = 'CREATE TABLE items (id int PRIMARY KEY);\nSELECT pg_sleep(0.4);\n';

/**
 * Runs `work` while counting schemata's connections in `databases` every 20 ms: client backends only, as a parallel
 * query's workers share their leader's application_name and are no connection; not another test's `status` of a
 * fleet looking for orphans, which visits every database of the server. Returns the work's result, the most
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
          WHERE backend_type = 'client backend' AND application_name LIKE 'schemata%' AND datname = ANY($1)
            AND application_name NOT LIKE '%(looking for orphans)'`,
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
  const client = await openClient(server('primary'));
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
      Array.from({ length: 8 }, (_, i) => fresh(i < 6 ? 'primary' : 'data')),
    );
    const names = urls.map(databaseName);
    const onServer = (server: 'primary' | 'data') =>
      names.filter((_, i) => i < 6 === (server === 'primary'));
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'shard', dir: 'shard', tenants: { databases: { env: 'SHARD_URLS' } } }],
      }),
      'shard/001_items.sql': SLEEPY,
      'shard/002_more.sql': 'SELECT pg_sleep(0.2);\n',
    });
    const env = { PRIMARY_DATABASE_URL: server('primary'), SHARD_URLS: urls.join(',') };
    // Both servers sampled at once, each for schemata's backends in its tenant databases.
    let onData = 0;
    let seenOnData = '';
    const { result, most, seen } = await countingBackends(
      server('primary'),
      onServer('primary'),
      () =>
        countingBackends(server('data'), onServer('data'), () =>
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
    const urls = await Promise.all(Array.from({ length: 3 }, () => fresh()));
    const names = urls.map(databaseName);
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'shard', dir: 'shard', tenants: { databases: names } }],
      }),
      'shard/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\n',
    });
    const env = { PRIMARY_DATABASE_URL: server('primary') };
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
    const url = await fresh();
    const database = databaseName(url);
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
    const { result, most, seen } = await countingBackends(server('primary'), [database], () =>
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

  it("status's search for orphans visits each database of the server under a name that says why", async () => {
    const urls = await Promise.all([fresh(), fresh()]);
    const unlisted = databaseName(urls[1]);
    const cwd = makeProject({
      'schemata.json': JSON.stringify({
        sets: [{ name: 'lookout', dir: 'shard', tenants: { databases: { env: 'SHARD_URLS' } } }],
      }),
      'shard/001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY);\n',
    });
    const env = (which: string) => ({ PRIMARY_DATABASE_URL: server('primary'), SHARD_URLS: which });
    expect((await migrate({ cwd, env: env(urls.join(',')) })).ok).toBe(true);
    // The unlisted one's tracking held by another session: the search waits there, and is seen waiting.
    const holder = await openClient(urls[1]);
    await holder.query('BEGIN; LOCK TABLE schemata.migrations IN ACCESS EXCLUSIVE MODE');
    try {
      const shown = status({ cwd, env: env(urls[0]) });
      let names: string[] = [];
      expect(
        await waitFor(async () => {
          names = (
            await query<{ name: string }>(
              server('primary'),
              "SELECT application_name AS name FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
              [unlisted],
            )
          ).map((r) => r.name);
          return names.length > 0;
        }, 20_000),
      ).toBe(true);
      expect(names).toEqual(['schemata: lookout (looking for orphans)']);
      await holder.query('COMMIT');
      // Other tests' databases on this server may hold a set of this name too.
      expect((await shown).sets[0]!.orphans).toContain(unlisted);
    } finally {
      await holder.end();
    }
  });
});
