import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrate, status } from '../../src/api.js';
import { databaseName, freshDatabase, query, tableExists, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * Data protection against the other spellings of destruction (SPEC §5). Each
 * case starts from tables that hold rows, put there by the test, and checks
 * the rows from the server afterwards. No test sets a search_path on the
 * connection: where one matters, the database's own setting resolves it.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    "CREATE TYPE workspace.mood AS ENUM ('ok', 'sad');",
    'CREATE DOMAIN workspace.price AS numeric(10,2);',
    'CREATE TABLE workspace.items (id int PRIMARY KEY, title varchar(255), size int, cost workspace.price, feeling workspace.mood);',
    'CREATE TABLE reference.codes (code text);',
    'CREATE TABLE workspace.empty (id int);',
    '',
  ].join('\n'),
};

async function setUp(extra: Record<string, string> = {}) {
  const applied = await appliedDataSet(
    { ...BASE, ...extra },
    "INSERT INTO workspace.items VALUES (1, 'a', 1, 9.5, 'ok'), (2, 'b', 2, 1.25, 'sad'); INSERT INTO reference.codes VALUES ('x')",
  );
  return { ...applied, versions: await trackedVersions(applied.url, 'data') };
}

const count = async (url: string, table: string) =>
  (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** Refused before anything of the run ran: exit 4, the rows still there, nothing new tracked. */
async function expectRefusedBeforeRunning(
  report: Awaited<ReturnType<typeof migrate>>,
  url: string,
  versions: string[],
  holder: string,
) {
  expect(report.exitCode).toBe(4);
  const refused = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.map((p) => p.message).join('\n')).toContain(holder);
  expect(refused[0]!.message).toContain('nothing of this run was applied');
  expect(await trackedVersions(url, 'data')).toEqual(versions);
}

describe('data protection: names resolved as PostgreSQL resolves them', () => {
  it('resolves an unqualified DROP TABLE IF EXISTS through the database search_path', async () => {
    const { url, cwd, env, versions } = await setUp();
    const database = databaseName(url);
    await query(url, `ALTER DATABASE ${database} SET search_path TO workspace, public`);
    writeFile(cwd, 'data/003_drop.sql', 'DROP TABLE IF EXISTS items;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectRefusedBeforeRunning(report, url, versions, 'workspace.items');
    expect(report.sets[0]!.problems[0]!.message).toContain('database/data/003_drop.sql:1:1');
    expect(await count(url, 'workspace.items')).toBe(2);
  });

  it('allows the same DROP TABLE IF EXISTS when the search_path reaches no such table', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_drop.sql', 'DROP TABLE IF EXISTS items;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(2);
  });

  it.each([
    [
      'a SET LOCAL ends with the file’s own COMMIT',
      'BEGIN;\nSET LOCAL search_path = public;\nCOMMIT;\nDELETE FROM items;\n',
    ],
    [
      'set_config(..., true) ends with the COMMIT, for a DO block after it',
      "BEGIN;\nSELECT set_config('search_path', 'public', true);\nCOMMIT;\nDO $$ BEGIN DELETE FROM items; END $$;\n",
    ],
    [
      'a ROLLBACK undoes a SET',
      'BEGIN;\nSET search_path = public;\nROLLBACK;\nDELETE FROM items;\n',
    ],
  ])('resolves names through the database search_path again where %s', async (_what, sql) => {
    const { url, cwd, env, versions } = await setUp();
    await query(url, `ALTER DATABASE ${databaseName(url)} SET search_path TO workspace, public`);
    writeFile(cwd, 'data/003_delete.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectRefusedBeforeRunning(report, url, versions, 'workspace.items holds 2 rows');
    expect(await count(url, 'workspace.items')).toBe(2);
  });

  it('resolves names through a SET LOCAL until its block ends', async () => {
    const { url, cwd, env } = await setUp({
      'data/003_empty_items.sql': 'CREATE TABLE reference.items (id int);\n',
    });
    await query(url, `ALTER DATABASE ${databaseName(url)} SET search_path TO workspace, public`);
    writeFile(
      cwd,
      'data/004_delete.sql',
      'BEGIN;\nSET LOCAL search_path = reference;\nDELETE FROM items;\nCOMMIT;\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(2);
    expect((await trackedVersions(url, 'data')).at(-1)).toBe('4');
  });

  it('follows a RENAME before the DROP of the new name, in one file and across files', async () => {
    const { url, cwd, env, versions } = await setUp();
    writeFile(cwd, 'data/003_rename.sql', 'ALTER TABLE workspace.items RENAME TO legacy_items;\n');
    writeFile(cwd, 'data/004_drop.sql', 'DROP TABLE workspace.legacy_items;\n');
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      'workspace.items',
    );

    writeFile(cwd, 'data/004_drop.sql', 'SELECT 1;\n');
    writeFile(
      cwd,
      'data/003_rename.sql',
      'ALTER TABLE workspace.items RENAME TO legacy_items;\nDROP TABLE workspace.legacy_items;\n',
    );
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      'workspace.items',
    );
    expect(await count(url, 'workspace.items')).toBe(2);
  });

  it('follows ALTER SCHEMA ... RENAME before DROP SCHEMA ... CASCADE', async () => {
    const { url, cwd, env, versions } = await setUp();
    writeFile(
      cwd,
      'data/003_retire.sql',
      'ALTER SCHEMA reference RENAME TO retired;\nDROP SCHEMA retired CASCADE;\n',
    );
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      'reference.codes',
    );
  });

  it('follows SET SCHEMA in one migration into DROP SCHEMA ... CASCADE in the next', async () => {
    const { url, cwd, env, versions } = await setUp();
    writeFile(
      cwd,
      'data/003_move.sql',
      'CREATE SCHEMA attic;\nALTER TABLE workspace.items SET SCHEMA attic;\n',
    );
    writeFile(cwd, 'data/004_clear.sql', 'DROP SCHEMA attic CASCADE;\n');
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      'workspace.items',
    );
    expect(await count(url, 'workspace.items')).toBe(2);
  });

  it('resolves "$user" in the search_path, and set_config(\'search_path\', ...)', async () => {
    const { url, cwd, env, versions } = await setUp();
    const user = new URL(url).username;
    await query(
      url,
      `CREATE SCHEMA "${user}"; CREATE TABLE "${user}".notes (n int); INSERT INTO "${user}".notes VALUES (1)`,
    );
    writeFile(cwd, 'data/003_user.sql', 'DELETE FROM notes;\n');
    const database = databaseName(url);
    await query(url, `ALTER DATABASE ${database} SET search_path TO "$user", public`);
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      `${user}.notes`,
    );

    writeFile(
      cwd,
      'data/003_user.sql',
      "SELECT set_config('search_path', 'reference', false);\nTRUNCATE codes;\n",
    );
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      'reference.codes',
    );
    expect(await count(url, 'reference.codes')).toBe(1);
  });

  it('allows a drop of what an earlier migration of the same run created, whatever its name', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_make.sql',
      'CREATE TABLE workspace.scratch (id int);\nINSERT INTO workspace.scratch VALUES (1);\nALTER TABLE workspace.scratch RENAME TO scratch_old;\n',
    );
    writeFile(cwd, 'data/004_drop.sql', 'DROP TABLE workspace.scratch_old;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await tableExists(url, 'workspace.scratch_old')).toBe(false);
  });

  const quoted = {
    'data/003_quoted.sql': [
      'CREATE TABLE workspace."Mixed Case" ("Id" int, "select" text);',
      'CREATE SCHEMA "Odd Schema";',
      'CREATE TABLE "Odd Schema".t (id int);',
      '',
    ].join('\n'),
  };
  const fillQuoted = async (url: string) =>
    query(
      url,
      `INSERT INTO workspace."Mixed Case" VALUES (1, 'a'), (2, 'b'); INSERT INTO "Odd Schema".t VALUES (1);`,
    );

  it.each([
    [
      'a table',
      'DROP TABLE workspace."Mixed Case";\n',
      'DROP TABLE workspace."Mixed Case" would destroy data: workspace."Mixed Case" holds 2 rows.',
    ],
    [
      'a column named by a keyword',
      'ALTER TABLE "workspace"."Mixed Case" DROP COLUMN "select";\n',
      'ALTER TABLE workspace."Mixed Case" DROP COLUMN "select" would destroy data: workspace."Mixed Case" holds 2 rows.',
    ],
    [
      'a table renamed earlier in the file',
      'ALTER TABLE workspace."Mixed Case" RENAME TO "old name";\nTRUNCATE workspace."old name";\n',
      'TRUNCATE workspace."old name" would destroy data: workspace."old name" (workspace."Mixed Case" when the run began) holds 2 rows.',
    ],
    [
      'a schema through the search path',
      'SET search_path = "Odd Schema";\nDELETE FROM t;\n',
      'DELETE FROM "Odd Schema".t without a WHERE that limits it would destroy data: "Odd Schema".t holds 1 row.',
    ],
    [
      'a schema dropped with CASCADE',
      'DROP SCHEMA "Odd Schema" CASCADE;\n',
      'DROP SCHEMA "Odd Schema" CASCADE would destroy data: "Odd Schema".t holds 1 row.',
    ],
    [
      'a function the file makes',
      'CREATE FUNCTION "Odd Schema"."Wipe"() RETURNS void LANGUAGE sql AS $$ DELETE FROM "Odd Schema".t $$;\nSELECT "Odd Schema"."Wipe"();\n',
      '(in function "Odd Schema"."Wipe", created at line 1) would destroy data: "Odd Schema".t holds 1 row.',
    ],
  ])('names quoted identifiers as PostgreSQL prints them: %s', async (_what, sql, words) => {
    const { url, cwd, env } = await setUp(quoted);
    await fillQuoted(url);
    writeFile(cwd, 'data/004_change.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectRefusedBeforeRunning(report, url, ['1', '2', '3'], words);
    expect(await count(url, 'workspace."Mixed Case"')).toBe(2);
  });

  it('says a forced loss of a quoted table once, as the forecast named it', async () => {
    const { url, cwd, env } = await setUp(quoted);
    await fillQuoted(url);
    writeFile(cwd, 'data/004_drop.sql', 'DROP TABLE workspace."Mixed Case";\n');
    const report = await migrate({ cwd, env, sets: ['data'], force: true });
    expect(report.exitCode).toBe(0);
    const warnings = report.sets[0]!.warnings.filter((w) => w.includes('"Mixed Case"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'DROP TABLE workspace."Mixed Case" runs although workspace."Mixed Case" holds 2 rows',
    );
    expect(await tableExists(url, 'workspace."Mixed Case"')).toBe(false);
  });
});

describe('data protection: what CASCADE and other spellings take', () => {
  it.each([
    ['DROP TYPE ... CASCADE takes the enum column', 'DROP TYPE workspace.mood CASCADE;'],
    [
      'DROP DOMAIN ... CASCADE takes the column of that domain',
      'DROP DOMAIN workspace.price CASCADE;',
    ],
    ['DROP OWNED BY CURRENT_USER takes every table', 'DROP OWNED BY CURRENT_USER;'],
    [
      'MERGE ... WHEN MATCHED THEN DELETE',
      'MERGE INTO workspace.items i USING (SELECT 1 AS id) s ON i.id = s.id WHEN MATCHED THEN DELETE;',
    ],
    ['DELETE ... WHERE true', 'DELETE FROM workspace.items WHERE true;'],
    ['UPDATE ... WHERE 1 = 1', "UPDATE workspace.items SET title = 'x' WHERE 1 = 1;"],
    [
      'a SQL function the migration creates and calls',
      'CREATE FUNCTION workspace.purge() RETURNS void LANGUAGE sql AS $$ DELETE FROM workspace.items $$;\nSELECT workspace.purge();',
    ],
    [
      'a PL/pgSQL function called from a DO block',
      'CREATE FUNCTION workspace.wipe() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE workspace.items CASCADE; END $$;\nDO $$ BEGIN PERFORM workspace.wipe(); END $$;',
    ],
    [
      'TRUNCATE in a DO block',
      'DO $$ BEGIN IF EXISTS (SELECT 1 FROM workspace.items) THEN TRUNCATE workspace.items; END IF; END $$;',
    ],
    ['DROP TABLE in a DO block', 'DO $$ BEGIN DROP TABLE IF EXISTS workspace.items; END $$;'],
    ['a narrowing type change', 'ALTER TABLE workspace.items ALTER COLUMN title TYPE varchar(10);'],
  ])('%s: refused before anything runs', async (_name, sql) => {
    const { url, cwd, env, versions } = await setUp();
    writeFile(cwd, 'data/003_step.sql', `${sql}\n`);
    await expectRefusedBeforeRunning(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      versions,
      'workspace.items',
    );
    expect(
      await query(url, 'SELECT id, feeling::text, cost::text FROM workspace.items ORDER BY id'),
    ).toEqual([
      { id: 1, feeling: 'ok', cost: '9.50' },
      { id: 2, feeling: 'sad', cost: '1.25' },
    ]);
  });

  it.each([
    [
      'varchar(255) to varchar(1024)',
      'ALTER TABLE workspace.items ALTER COLUMN title TYPE varchar(1024);',
    ],
    ['varchar(255) to text', 'ALTER TABLE workspace.items ALTER COLUMN title TYPE text;'],
    ['int to bigint', 'ALTER TABLE workspace.items ALTER COLUMN size TYPE bigint;'],
    [
      'a domain over numeric(10,2) to numeric(12,2)',
      'ALTER TABLE workspace.items ALTER COLUMN cost TYPE numeric(12,2);',
    ],
  ])('a widening change is allowed on a table that holds rows: %s', async (_name, sql) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_widen.sql', `${sql}\n`);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(2);
  });
});

describe('data protection: rows that row-level security hides', () => {
  it('counts rows FORCE ROW LEVEL SECURITY hides from the owner, in status and in migrate', async () => {
    const url = await freshDatabase();
    const role = `app_${randomBytes(4).toString('hex')}`;
    const database = databaseName(url);
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'app-secret'; GRANT ALL ON DATABASE ${database} TO ${role}; ALTER DATABASE ${database} OWNER TO ${role}`,
    );
    const appUrl = new URL(url);
    appUrl.username = role;
    appUrl.password = 'app-secret';
    const cwd = makeProject({
      'data/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
      'data/002_tables.sql':
        'CREATE TABLE workspace.secrets (id int);\nALTER TABLE workspace.secrets ENABLE ROW LEVEL SECURITY;\nALTER TABLE workspace.secrets FORCE ROW LEVEL SECURITY;\nCREATE POLICY none ON workspace.secrets USING (false);\n',
    });
    const env = { PRIMARY_DATABASE_URL: appUrl.toString() };
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    await query(url, 'INSERT INTO workspace.secrets VALUES (1), (2)'); // as the superuser, whom policies do not bind
    const shown = await status({ cwd, env, sets: ['data'] });
    expect(shown.error).toBeUndefined();
    expect(shown.sets[0]!.schemas.find((s) => s.name === 'workspace')!.hasData).toBe(true);

    writeFile(cwd, 'data/003_drop.sql', 'DROP TABLE workspace.secrets;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.sets[0]!.problems[0]!.message).toContain(
      'workspace.secrets holds rows this role cannot count',
    );
    expect(await count(url, 'workspace.secrets')).toBe(2);

    // Emptied by dynamic SQL in a function the migration did not create: only the server-side check sees it.
    // (Its rows hidden, the table's pages answer: a TRUNCATE leaves none; see the guide on DELETE.)
    writeFile(cwd, 'data/003_drop.sql', 'SELECT 1;\n');
    await query(
      url,
      `CREATE FUNCTION public.clear_secrets() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN EXECUTE '' || 'TRUNCATE workspace.secrets'; END $$`,
    );
    writeFile(cwd, 'data/004_call.sql', 'SELECT public.clear_secrets();\n');
    const guarded = await migrate({ cwd, env, sets: ['data'] });
    expect(guarded.exitCode).toBe(4);
    expect(guarded.error!.message).toContain(
      'table workspace.secrets held rows this role cannot count and is now empty',
    );
    expect(await count(url, 'workspace.secrets')).toBe(2);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});

describe('data protection: the check on the server', () => {
  it('rolls back a migration whose call of a function made elsewhere deletes every row with dynamic SQL; earlier migrations of the run stay', async () => {
    const { url, cwd, env, versions } = await setUp();
    // EXECUTE: what the forecast cannot read (a body it can is refused before the run: forecast-bodies.test.ts).
    await query(
      url,
      "CREATE FUNCTION public.tidy() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$",
    );
    writeFile(cwd, 'data/003_harmless.sql', 'CREATE TABLE workspace.more (id int);\n');
    writeFile(cwd, 'data/004_tidy.sql', 'SELECT public.tidy();\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'data protection rolled back 004_tidy.sql at database/data/004_tidy.sql:1:1 (SELECT public.tidy()): table workspace.items held 2 rows and is now empty',
    );
    expect(await count(url, 'workspace.items')).toBe(2);
    expect(await trackedVersions(url, 'data')).toEqual([...versions, '3']);
  });

  it('rolls back a DROP built with EXECUTE inside a function an earlier migration defined', async () => {
    const { url, cwd, env, versions } = await setUp({
      'data/003_helper.sql':
        "CREATE FUNCTION workspace.retire(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('DROP TABLE workspace.%I', t); END $$;\n",
    });
    writeFile(cwd, 'data/004_retire.sql', "SELECT workspace.retire('items');\n");
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      "data protection rolled back 004_retire.sql at database/data/004_retire.sql:1:1 (SELECT workspace.retire('items')): table workspace.items held 2 rows and is gone",
    );
    expect(await count(url, 'workspace.items')).toBe(2);
    expect(await trackedVersions(url, 'data')).toEqual(versions);
  });

  it('rolls back a column dropped by dynamic SQL, naming it', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_dynamic.sql',
      "DO $$ BEGIN EXECUTE format('ALTER TABLE %I.%I DROP COLUMN %I', 'workspace', 'items', 'title'); END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'column title of table workspace.items held data (2 rows) and is gone',
    );
    expect(await query(url, 'SELECT title FROM workspace.items ORDER BY id')).toEqual([
      { title: 'a' },
      { title: 'b' },
    ]);
  });
});

describe('data protection: forcing', () => {
  it('-- schemata:force allows that file only; a DROP in another file of the run is still refused', async () => {
    const { url, cwd, env, versions } = await setUp();
    writeFile(
      cwd,
      'data/003_backfill.sql',
      '-- schemata:force\nUPDATE workspace.items SET title = upper(title);\n',
    );
    writeFile(cwd, 'data/004_drop.sql', 'DROP TABLE reference.codes;\n');
    const refused = await migrate({ cwd, env, sets: ['data'] });
    await expectRefusedBeforeRunning(refused, url, versions, 'reference.codes');
    expect(refused.sets[0]!.problems.filter((p) => p.kind === 'refused')).toHaveLength(1);

    writeFile(cwd, 'data/004_drop.sql', 'SELECT 1;\n');
    const forced = await migrate({ cwd, env, sets: ['data'] });
    expect(forced.error).toBeUndefined();
    expect(forced.sets[0]!.warnings.join('\n')).toContain('(-- schemata:force)');
    expect(await query(url, 'SELECT title FROM workspace.items ORDER BY id')).toEqual([
      { title: 'A' },
      { title: 'B' },
    ]);
  });

  it('-- schemata:force also turns off the server-side check of that file', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_dynamic.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE '' || 'TRUNCATE reference.' || 'codes'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'reference.codes')).toBe(0);
  });
});
