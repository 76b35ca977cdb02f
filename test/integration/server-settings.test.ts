import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate, status, validate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import {
  debianPostgresRequired,
  haveDebianPostgres,
  startDebianPostgres,
} from '../support/debian-postgres.js';
import { makeProject } from '../support/project.js';

/** A new database on a server reached by `url`; returns its URL. */
async function databaseOn(url: string, name: string): Promise<string> {
  await query(url, `CREATE DATABASE ${name}`);
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function history(count: number): Record<string, string> {
  const files: Record<string, string> = {
    'primary/001_schemas.sql':
      'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
  };
  for (let v = 2; v <= count; v++)
    files[`primary/${String(v).padStart(3, '0')}_t${v}.sql`] =
      `CREATE TABLE IF NOT EXISTS config.t${v} (id int PRIMARY KEY, label text);\n`;
  return files;
}

debianPostgresRequired();

describe.skipIf(!haveDebianPostgres())(
  "Debian's PostgreSQL 15 with its defaults (jit = on, LLVM)",
  () => {
    // Undefined until beforeAll has started it (and when starting it failed).
    let server: Awaited<ReturnType<typeof startDebianPostgres>> | undefined;
    const serverUrl = (): string => {
      if (!server) throw new Error("Debian's PostgreSQL 15 was not started");
      return server.url;
    };
    beforeAll(async () => {
      // pg_stat_statements counts what LLVM compiled, per statement: the instrument, not a setting under test.
      server = await startDebianPostgres({
        shared_preload_libraries: 'pg_stat_statements',
        'pg_stat_statements.track': 'all',
      });
      await query(server.url, 'CREATE EXTENSION pg_stat_statements');
    });
    afterAll(async () => server?.stop());

    const jitFunctions = async (database: string) =>
      Number(
        (
          await query<{ n: string }>(
            serverUrl(),
            'SELECT coalesce(sum(s.jit_functions), 0) AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1',
            [database],
          )
        )[0]!.n,
      );

    it('the server compiles with LLVM what the planner finds expensive (the trap is real here)', async () => {
      const url = await databaseOn(serverUrl(), 'jit_probe');
      const [settings] = await query<{ jit: string; available: boolean }>(
        url,
        "SELECT current_setting('jit') AS jit, pg_jit_available() AS available",
      );
      expect(settings).toEqual({ jit: 'on', available: true });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('SET jit_above_cost = 0');
      await client.query(
        'SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid',
      );
      await client.end();
      expect(await jitFunctions('jit_probe')).toBeGreaterThan(0);
    });

    it("schemata's own statements are never compiled, and each file runs with the user's jit and statement_timeout", async () => {
      const url = await databaseOn(serverUrl(), 'jit_run');
      await query(url, "ALTER DATABASE jit_run SET statement_timeout = '40s'");
      const files = history(12);
      files['primary/013_seen.sql'] =
        "CREATE TABLE config.seen AS SELECT current_setting('jit') AS jit, current_setting('statement_timeout') AS statement_timeout;\n";
      const report = await migrate({
        cwd: makeProject(files),
        env: { PRIMARY_DATABASE_URL: url },
        sets: ['primary'],
      });
      expect(report.error).toBeUndefined();
      expect(report.sets[0]!.applied).toHaveLength(13);
      expect(await query(url, 'SELECT jit, statement_timeout FROM config.seen')).toEqual([
        { jit: 'on', statement_timeout: '40s' },
      ]);
      // Every statement schemata sent, and those its functions ran: nothing compiled.
      expect(await jitFunctions('jit_run')).toBe(0);
      // A no-op run, status and validation too, over a catalog large enough for the planner to call the listing expensive.
      files['primary/014_many.sql'] =
        "DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE config.many_%s (id int PRIMARY KEY, a text, b text)', i); END LOOP; END $$;\n";
      const cwd = makeProject(files);
      const env = { PRIMARY_DATABASE_URL: url };
      expect((await migrate({ cwd, env, sets: ['primary'] })).error).toBeUndefined();
      await query(serverUrl(), 'SELECT pg_stat_statements_reset()');
      expect((await migrate({ cwd, env, sets: ['primary'] })).error).toBeUndefined();
      expect((await status({ cwd, env, sets: ['primary'] })).error).toBeUndefined();
      expect((await validate({ cwd, env, sets: ['primary'] })).ok).toBe(true);
      expect(await jitFunctions('jit_run')).toBe(0);
    });
  },
);

describe('a file that sets statement_timeout', () => {
  it("does not cut schemata's own bookkeeping after it short, nor the next migration", async () => {
    const url = await freshDatabase();
    const files = history(2);
    files['primary/003_short.sql'] =
      "CREATE TABLE config.short (id int);\nSET statement_timeout = '1ms';\n";
    files['primary/004_next.sql'] =
      "CREATE TABLE config.next AS SELECT current_setting('statement_timeout') AS statement_timeout, pg_sleep(0.01)::text AS slept;\n";
    const report = await migrate({
      cwd: makeProject(files),
      env: { PRIMARY_DATABASE_URL: url },
      sets: ['primary'],
    });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.applied.map((a) => a.version)).toEqual(['1', '2', '3', '4']);
    expect(await query(url, 'SELECT statement_timeout FROM config.next')).toEqual([
      { statement_timeout: '0' },
    ]);
  });
});
