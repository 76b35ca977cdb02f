import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { freshDatabase, query, servers } from '../support/db.js';
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
    const database = new URL(direct).pathname.slice(1);
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
});
