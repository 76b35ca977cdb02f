import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate, status, validate } from '../../src/api.js';
import { databaseName, freshDatabase, query, setOnDatabase, waitFor } from '../support/db.js';
import {
  debianPostgresRequired,
  haveDebianPostgres,
  startDebianPostgres,
} from '../support/debian-postgres.js';
import { makeProject, writeFile } from '../support/project.js';

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

describe.each(['repeatable read', 'serializable'])(
  "a database whose default_transaction_isolation is '%s'",
  (level) => {
    const withDefault = async () => {
      const url = await freshDatabase();
      await setOnDatabase(url, `default_transaction_isolation = '${level}'`);
      return url;
    };

    it('CREATE INDEX CONCURRENTLY waits for no snapshot of schemata (the run lock holds none); a migration runs in read committed unless it says otherwise', async () => {
      const url = await withDefault();
      const report = await migrate({
        cwd: makeProject({
          'primary/001_schemas.sql':
            'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
          'primary/002_items.sql':
            "CREATE TABLE config.items (id int PRIMARY KEY, title text);\nINSERT INTO config.items VALUES (1, 'a');\nCREATE TABLE config.levels AS SELECT current_setting('transaction_isolation') AS level, 2 AS version;\n",
          'primary/003_index.sql':
            '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_title ON config.items (title);\n',
          'primary/004_own.sql':
            "BEGIN ISOLATION LEVEL SERIALIZABLE;\nINSERT INTO config.levels SELECT current_setting('transaction_isolation'), 4;\nCOMMIT;\n",
        }),
        env: { PRIMARY_DATABASE_URL: url },
        sets: ['primary'],
        // Without the fix, the index waited for the run lock's snapshot until this timeout.
        statementLockTimeout: 2,
      });
      expect(report.error).toBeUndefined();
      expect(report.sets[0]!.applied.map((a) => a.version)).toEqual(['1', '2', '3', '4']);
      expect(
        await query(
          url,
          "SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = 'config.items_title'::regclass",
        ),
      ).toEqual([{ valid: true }]);
      expect(await query(url, 'SELECT level, version FROM config.levels ORDER BY version')).toEqual(
        [
          { level: 'read committed', version: 2 },
          { level: 'serializable', version: 4 },
        ],
      );
    });

    it("a claim that waited for another run's transaction of the same migration sees its record, and the migration runs once", async () => {
      const url = await withDefault();
      const fill = 'INSERT INTO config.hits VALUES (1);\n';
      const cwd = makeProject({
        'primary/001_schemas.sql':
          'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\nCREATE TABLE config.hits (n int);\n',
      });
      expect(
        (await migrate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['primary'] })).ok,
      ).toBe(true);
      writeFile(cwd, 'primary/002_slow.sql', 'SELECT pg_sleep(1);\n');
      writeFile(cwd, 'primary/003_fill.sql', fill);
      const claim = "pg_advisory_xact_lock(x'73636865'::int, x'6d617462'::int)";
      const claimHeld = (granted: boolean) => async () =>
        (
          await query(
            url,
            `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = x'6d617462'::int AND granted = ${granted}
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).length > 0;
      // Another run's transaction of 003 (a run through PgBouncer that planned it too): it takes the claim once
      // this run's 002 commits, and does 003's work, not yet committed, while this run's claim of 003 waits.
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      try {
        const running = migrate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['primary'] });
        expect(await waitFor(claimHeld(true), 10_000)).toBe(true);
        await other.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        await other.query(`SELECT ${claim}`);
        await other.query(fill);
        await other.query(
          "INSERT INTO schemata.migrations (set_name, version, name, file, checksum, event) VALUES ('primary', '3', 'fill', '003_fill.sql', $1, 'applied')",
          [createHash('sha256').update(fill).digest('hex')],
        );
        // This run's claim waits for the other transaction's.
        expect(await waitFor(claimHeld(false), 10_000)).toBe(true);
        await other.query('COMMIT');
        const report = await running;
        expect(report.error).toBeUndefined();
        expect(report.sets[0]!.applied.map((a) => a.version)).toEqual(['2']);
        expect(report.sets[0]!.warnings).toContain(
          '003_fill.sql was recorded by another run while this one waited: it ran once, there.',
        );
        expect(await query(url, 'SELECT count(*)::int AS n FROM config.hits')).toEqual([{ n: 1 }]);
      } finally {
        await other.end();
      }
    });
  },
);

describe.each([
  "DateStyle = 'SQL, DMY'",
  "DateStyle = 'German'",
  "DateStyle = 'Postgres, MDY'",
  'extra_float_digits = -15',
])(
  // Each shapes the text of a timestamp or a number the server sends.
  'a database with %s',
  (setting) => {
    it('status shows when each migration was applied, and a run that waits for the lock names since when its holder is connected', async () => {
      const url = await freshDatabase();
      await setOnDatabase(url, setting);
      const cwd = makeProject({
        'primary/001_schemas.sql':
          'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      });
      const env = { PRIMARY_DATABASE_URL: url };
      const before = Date.now();
      expect((await migrate({ cwd, env, sets: ['primary'] })).error).toBeUndefined();
      const shown = await status({ cwd, env, sets: ['primary'] });
      expect(shown.error).toBeUndefined();
      const appliedAt = Date.parse(shown.sets[0]!.applied[0]!.appliedAt!);
      expect(appliedAt).toBeGreaterThanOrEqual(before - 60_000);
      expect(appliedAt).toBeLessThanOrEqual(Date.now() + 60_000);

      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      try {
        await holder.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
        const waited = await migrate({ cwd, env, sets: ['primary'], lockTimeout: 0.5 });
        expect(waited.exitCode).toBe(5);
        expect(waited.error!.message).toMatch(/connected since \d{4}-\d\d-\d\dT/);
      } finally {
        await holder.end();
      }
    });
  },
);

describe("a database's idle_session_timeout", () => {
  it("does not close schemata's session while it waits for the run lock, longer than the timeout", async () => {
    const url = await freshDatabase();
    await setOnDatabase(url, "idle_session_timeout = '300ms'");
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
    });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    // The holder runs a statement now and then: its own session is never idle for long.
    await holder.query(
      "SET idle_session_timeout = 0; SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)",
    );
    const running = migrate({
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
      sets: ['primary'],
      lockTimeout: 20,
    });
    try {
      // schemata's session connected, then idle while its lock connection waits, idle too between its tries
      // (up to a second): three times the timeout.
      expect(
        await waitFor(async () => {
          const [row] = await query<{ n: number }>(
            url,
            `SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity
              WHERE datname = pg_catalog.current_database() AND query LIKE '%schemata waits for the run lock%'
                AND pid <> pg_backend_pid()`,
          );
          return row!.n > 0;
        }, 10_000),
      ).toBe(true);
      await new Promise((r) => setTimeout(r, 900));
    } finally {
      await holder.end();
    }
    const report = await running;
    expect(report.error?.message).toBeUndefined();
    expect(report.sets[0]!.applied).toHaveLength(1);
  });
});

describe('a database that takes no writes (default_transaction_read_only)', () => {
  it('migrate stops before its first write, naming where the setting is, and not the file; status reads it; the hint, run as typed, lets migrate run', async () => {
    const url = await freshDatabase();
    const database = databaseName(url);
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
    });
    const env = { PRIMARY_DATABASE_URL: url };
    expect((await migrate({ cwd, env, sets: ['primary'] })).error).toBeUndefined();
    await query(url, `ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    writeFile(cwd, 'primary/002_items.sql', 'CREATE TABLE config.items (id int);\n');

    const refused = await migrate({ cwd, env, sets: ['primary'] });
    expect(refused.exitCode).toBe(2);
    expect(refused.error!.message).toContain(
      `takes no writes: default_transaction_read_only is on, by database ${database}'s setting, so schemata can write neither its tracking nor a migration; nothing was applied`,
    );
    expect(refused.error!.message).not.toContain('002_items.sql');
    const shown = await status({ cwd, env, sets: ['primary'] });
    expect(shown.error).toBeUndefined();
    expect(shown.sets[0]!.pending.map((p) => p.file)).toEqual(['002_items.sql']);

    const sql = /run: (BEGIN .*;) Then/.exec(refused.error!.hint!)?.[1];
    expect(sql).toBe(
      `BEGIN READ WRITE; ALTER DATABASE ${database} SET default_transaction_read_only = off; COMMIT;`,
    );
    await query(url, sql!);
    const applied = await migrate({ cwd, env, sets: ['primary'] });
    expect(applied.error).toBeUndefined();
    expect(applied.sets[0]!.applied.map((a) => a.file)).toEqual(['002_items.sql']);
  });
});

describe('a database with standard_conforming_strings = off', () => {
  it("a migration's notices are its file's own: schemata's statements write no backslash in a plain string", async () => {
    const url = await freshDatabase();
    await setOnDatabase(url, 'standard_conforming_strings = off');
    const report = await migrate({
      cwd: makeProject({
        'primary/001_schemas.sql':
          'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\nCREATE TABLE config.items (id int PRIMARY KEY, title text);\nCREATE INDEX items_title ON config.items (title);\n',
        'primary/002_fill.sql': "INSERT INTO config.items VALUES (1, 'a\\\\b');\n",
      }),
      env: { PRIMARY_DATABASE_URL: url },
      sets: ['primary'],
    });
    expect(report.error).toBeUndefined();
    const [schemas, fill] = report.sets[0]!.applied;
    expect(schemas!.notices).toBeUndefined();
    // The file's own backslash, in a plain string with standard_conforming_strings off: PostgreSQL's warning, the only one.
    expect(fill!.notices).toEqual(['WARNING: nonstandard use of \\\\ in a string literal']);
  });
});

describe("a database's statement_timeout", () => {
  it('is not in force while schemata makes its tracking tables and functions, and is in force in the files', async () => {
    const url = await freshDatabase();
    // What each DDL command ran under, as an event trigger sees it (the tests run as a superuser).
    await query(
      url,
      `CREATE TABLE public.seen (identity text, statement_timeout text);
       CREATE FUNCTION public.note() RETURNS event_trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO public.seen SELECT c.object_identity, pg_catalog.current_setting('statement_timeout') FROM pg_catalog.pg_event_trigger_ddl_commands() c;
       END $$;
       CREATE EVENT TRIGGER note ON ddl_command_end EXECUTE FUNCTION public.note()`,
    );
    await setOnDatabase(url, "statement_timeout = '40s'");
    const report = await migrate({
      cwd: makeProject({
        'primary/001_schemas.sql':
          'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\nCREATE TABLE config.items (id int);\n',
      }),
      env: { PRIMARY_DATABASE_URL: url },
      sets: ['primary'],
    });
    expect(report.error).toBeUndefined();
    const seen = await query<{ identity: string; statement_timeout: string }>(
      url,
      "SELECT DISTINCT identity, statement_timeout FROM public.seen WHERE identity IN ('schemata', 'schemata.migrations', 'schemata.objects', 'config.items') ORDER BY identity",
    );
    expect(seen).toEqual([
      { identity: 'config.items', statement_timeout: '40s' },
      { identity: 'schemata', statement_timeout: '0' },
      { identity: 'schemata.migrations', statement_timeout: '0' },
      { identity: 'schemata.objects', statement_timeout: '0' },
    ]);
    // Its functions too, each made by the same batch.
    const functions = await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM public.seen WHERE identity LIKE 'schemata.%(%' AND statement_timeout <> '0'",
    );
    expect(functions).toEqual([{ n: 0 }]);
  });
});
