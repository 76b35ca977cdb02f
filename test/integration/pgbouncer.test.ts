import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate, validate } from '../../src/api.js';
import { databaseName, freshDatabase, query, servers } from '../support/db.js';
import { havePgBouncer, startPgBouncer } from '../support/pgbouncer.js';
import { makeProject } from '../support/project.js';

// .ci/run installs PgBouncer and asks for this test; elsewhere it runs when pgbouncer is there.
const required = process.env.SCHEMATA_REQUIRE_PGBOUNCER === '1';
const available = havePgBouncer();
if (required && !available)
  throw new Error(
    'SCHEMATA_REQUIRE_PGBOUNCER=1 but pgbouncer is not installed (apt-get install -y pgbouncer)',
  );

describe.skipIf(!available)('behind PgBouncer in transaction pooling', () => {
  it('four concurrent runs apply each migration once and leave no advisory lock behind', async () => {
    const direct = await freshDatabase();
    const database = databaseName(direct);
    const bouncer = await startPgBouncer(servers().primary);
    try {
      const files: Record<string, string> = {
        'data/001_schemas.sql':
          'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\nCREATE TABLE workspace.log (version int);\n',
      };
      for (let v = 2; v <= 8; v++)
        files[`data/00${v}_step.sql`] =
          `CREATE TABLE workspace.t${v} (id int);\nINSERT INTO workspace.log VALUES (${v});\nSELECT pg_sleep(0.05);\n`;
      const cwd = makeProject(files);
      const env = { PRIMARY_DATABASE_URL: bouncer.url(database) };
      const reports = await Promise.all(
        [1, 2, 3, 4].map(() => migrate({ cwd, env, sets: ['data'] })),
      );
      for (const report of reports) expect(report.error).toBeUndefined();
      // Every migration ran exactly once, whichever run applied it.
      expect(reports.flatMap((r) => r.sets[0]!.applied.map((a) => a.version)).sort()).toEqual([
        '1',
        '2',
        '3',
        '4',
        '5',
        '6',
        '7',
        '8',
      ]);
      expect(
        await query(
          direct,
          'SELECT version, count(*)::int AS n FROM workspace.log GROUP BY version ORDER BY version',
        ),
      ).toEqual([2, 3, 4, 5, 6, 7, 8].map((version) => ({ version, n: 1 })));
      const applied = await query<{ n: number }>(
        direct,
        "SELECT count(*)::int AS n FROM schemata.migrations WHERE set_name = 'data' AND event = 'applied'",
      );
      expect(applied[0]!.n).toBe(8);
      // No lock left on a pooled server connection: none at all, and the next run goes straight through.
      expect(
        await query(
          direct,
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = x'73636865'::int
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        ),
      ).toEqual([{ n: 0 }]);
      const again = await migrate({ cwd, env, sets: ['data'], lockTimeout: 1 });
      expect(again.error).toBeUndefined();
      expect(again.sets[0]!.applied).toEqual([]);
    } finally {
      await bouncer.stop();
    }
  });

  it('a fleet of tenant schemas, more tenants than the pool has server connections: each tenant gets its files in its own schema, none in another', async () => {
    const direct = await freshDatabase();
    const database = databaseName(direct);
    const tenants = Array.from({ length: 8 }, (_, i) => `tenant_${i + 1}`);
    await query(direct, tenants.map((t) => `CREATE SCHEMA ${t};`).join('\n'));
    const bouncer = await startPgBouncer(servers().primary, { poolSize: 3 });
    // Another client of the pool, as an application would be: it must never see a tenant's search_path.
    const app = new pg.Client({ connectionString: bouncer.url(database) });
    await app.connect();
    try {
      const cwd = makeProject({
        'schemata.json': JSON.stringify({
          sets: [
            { name: 'tenant', dir: 'tenant', database: 'primary', tenants: { schemas: tenants } },
          ],
        }),
        // Unqualified names, a function and a DO block that resolve through the search_path, and a file of its own transaction.
        'tenant/001_items.sql':
          'CREATE TABLE items (id int PRIMARY KEY, owner text DEFAULT current_schema());\nSELECT pg_sleep(0.05);\n',
        'tenant/002_notes.sql': `CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM items';
DO $$ BEGIN EXECUTE '' || 'CREATE TABLE notes (id int)'; END $$;
INSERT INTO items (id) VALUES (1);
`,
        'tenant/003_own.sql':
          'BEGIN;\nCREATE TABLE own (id int);\nSELECT pg_sleep(0.05);\nCOMMIT;\n',
      });
      const env = { PRIMARY_DATABASE_URL: bouncer.url(database) };
      // Sampled while the fleet runs, one query after another.
      const paths = (async () => {
        const seen: string[] = [];
        for (let i = 0; i < 40; i++) {
          const { rows } = await app.query<{ search_path: string }>('SHOW search_path');
          seen.push(rows[0]!.search_path);
          await new Promise((r) => setTimeout(r, 10));
        }
        return seen;
      })();
      const run = await migrate({ cwd, env, concurrency: 3 });
      expect(
        run.error,
        JSON.stringify(run.sets[0]?.tenants?.map((t) => [t.name, t.error?.message])),
      ).toBeUndefined();
      expect(run.sets[0]!.tenants!.every((t) => t.ok && t.applied.length === 3)).toBe(true);
      expect(new Set(await paths)).toEqual(new Set(['"$user", public']));
      // From the server: each tenant has exactly its objects, with its own rows; nothing landed in public.
      const objects = await query<{ schema: string; names: string[] }>(
        direct,
        `SELECT n.nspname AS schema, array_agg(c.relname::text ORDER BY c.relname) AS names
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND (n.nspname LIKE 'tenant\\_%' OR n.nspname = 'public')
          GROUP BY n.nspname ORDER BY n.nspname`,
      );
      expect(objects).toEqual(
        tenants.map((schema) => ({ schema, names: ['items', 'notes', 'own'] })),
      );
      for (const t of tenants)
        expect(
          await query(
            direct,
            `SELECT owner, count(*)::int AS n, to_regprocedure('${t}.note_count()') IS NOT NULL AS made FROM ${t}.items GROUP BY owner`,
          ),
        ).toEqual([{ owner: t, n: 1, made: true }]);
      expect(
        await query(direct, "SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'note_count'"),
      ).toEqual([{ n: tenants.length }]);
      expect((await migrate({ cwd, env, concurrency: 3 })).ok).toBe(true);
      expect((await validate({ cwd, env, concurrency: 3 })).ok).toBe(true);
      expect(
        await query(
          direct,
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = x'73636865'::int
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        ),
      ).toEqual([{ n: 0 }]);
    } finally {
      await app.end();
      await bouncer.stop();
    }
  });

  it('a fleet of tenant databases, two runs at once on the same tenants: each migration once, in a transaction, outside one, or in its own BEGIN ... COMMIT; no lock left', async () => {
    const directs = await Promise.all([freshDatabase(), freshDatabase()]);
    const names = directs.map(databaseName);
    const bouncer = await startPgBouncer(servers().primary, { poolSize: 2 });
    try {
      // Each file writes a row for each time it runs: a migration run twice leaves two.
      const files: Record<string, string> = {
        'schemata.json': JSON.stringify({
          sets: [{ name: 'shard', dir: 'shard', tenants: { databases: { env: 'SHARD_URLS' } } }],
        }),
        'shard/001_log.sql': 'CREATE TABLE runs (version int);\nINSERT INTO runs VALUES (1);\n',
        'shard/004_index.sql':
          '-- schemata:no-transaction\nINSERT INTO runs VALUES (4);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS runs_version ON runs (version);\n',
        'shard/005_own.sql':
          'BEGIN;\nINSERT INTO runs VALUES (5);\nSELECT pg_sleep(0.05);\nCOMMIT;\n',
      };
      for (const v of [2, 3, 6, 7])
        files[`shard/00${v}_step.sql`] =
          `INSERT INTO runs VALUES (${v});\nDO $$ BEGIN PERFORM pg_sleep(0.05); END $$;\n`;
      const cwd = makeProject(files);
      const env = {
        PRIMARY_DATABASE_URL: servers().primary,
        SHARD_URLS: names.map((n) => bouncer.url(n)).join(','),
      };
      const reports = await Promise.all([1, 2].map(() => migrate({ cwd, env, concurrency: 2 })));
      for (const report of reports)
        expect(
          report.error,
          JSON.stringify(report.sets[0]?.tenants?.map((t) => [t.name, t.error?.message])),
        ).toBeUndefined();
      for (const [i, direct] of directs.entries()) {
        // Between them, the two runs applied each migration to the tenant once.
        const applied = reports
          .flatMap((r) => r.sets[0]!.tenants!.filter((t) => t.name === names[i]))
          .flatMap((t) => t.applied.map((a) => a.version))
          .sort();
        expect(applied).toEqual(['1', '2', '3', '4', '5', '6', '7']);
        expect(
          await query(
            direct,
            'SELECT version, count(*)::int AS n FROM runs GROUP BY version ORDER BY version',
          ),
        ).toEqual([1, 2, 3, 4, 5, 6, 7].map((version) => ({ version, n: 1 })));
        expect(
          await query(
            direct,
            "SELECT event, count(*)::int AS n FROM schemata.migrations WHERE set_name = 'shard' GROUP BY event ORDER BY event",
          ),
        ).toEqual([
          { event: 'applied', n: 7 },
          { event: 'running', n: 1 },
        ]);
        expect(
          await query(
            direct,
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = x'73636865'::int
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          ),
        ).toEqual([{ n: 0 }]);
      }
      const again = await migrate({ cwd, env, lockTimeout: 1 });
      expect(again.error).toBeUndefined();
      expect(again.sets[0]!.tenants!.every((t) => t.applied.length === 0)).toBe(true);
    } finally {
      await bouncer.stop();
    }
  });

  it("a database's idle_session_timeout stays as it is on the pooled server connections: schemata turns it off only in a session of the server's own", async () => {
    const direct = await freshDatabase();
    const database = databaseName(direct);
    await query(direct, `ALTER DATABASE "${database}" SET idle_session_timeout = '1h'`);
    // Two server connections: the run's session and its lock's; afterwards each is pinned by a client of its own.
    const bouncer = await startPgBouncer(servers().primary, { poolSize: 2 });
    const apps = [1, 2].map(() => new pg.Client({ connectionString: bouncer.url(database) }));
    try {
      const cwd = makeProject({
        'data/001_schemas.sql':
          'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      });
      const run = await migrate({
        cwd,
        env: { PRIMARY_DATABASE_URL: bouncer.url(database) },
        sets: ['data'],
      });
      expect(run.error).toBeUndefined();
      const seen: string[] = [];
      for (const app of apps) {
        await app.connect();
        const [, shown] = (await app.query('BEGIN; SHOW idle_session_timeout')) as unknown as Array<
          pg.QueryResult<{ idle_session_timeout: string }>
        >;
        seen.push(shown!.rows[0]!.idle_session_timeout);
      }
      expect(seen).toEqual(['1h', '1h']);
    } finally {
      await Promise.all(apps.map((app) => app.end().catch(() => undefined)));
      await bouncer.stop();
    }
  });
});
