import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { EXIT } from '../../src/errors.js';
import { freshDatabase, query, tableExists, trackedVersions } from '../support/db.js';
import { makeProject, SMALL_SETS, writeFile } from '../support/project.js';

/*
 * migrate --single-transaction (issue 23): the run's migrations on a
 * database in one transaction, each still claimed, measured, snapshotted and
 * recorded; any failure leaves nothing of the run there.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

/** What tracking holds for a set, none when the tracking table is not there. */
const events = async (url: string) => {
  const [made] = await query<{ ok: boolean }>(
    url,
    "SELECT to_regclass('schemata.migrations') IS NOT NULL AS ok",
  );
  if (!made?.ok) return 0;
  const [row] = await query<{ n: number }>(
    url,
    'SELECT count(*)::int AS n FROM schemata.migrations',
  );
  return row!.n;
};

const recordedRows = async (url: string, version: string) =>
  (
    await query<{ rows: unknown }>(
      url,
      `SELECT effects -> 'rows' AS rows FROM schemata.migrations WHERE set_name = 'data' AND version = $1 ORDER BY id DESC LIMIT 1`,
      [version],
    )
  )[0]?.rows ?? null;

describe('migrate --single-transaction', () => {
  it('applies both sets of the database in one transaction, each migration recorded with the rows it wrote', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_rows.sql': 'INSERT INTO workspace.items VALUES (1), (2), (3);\n',
      'data/004_more.sql': 'INSERT INTO workspace.items VALUES (4), (5);\n',
    });
    const report = await migrate({ cwd, env: single(url), singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(report.sets.map((s) => s.applied.map((a) => a.file))).toEqual([
      ['001_schemas.sql', '002_tables.sql'],
      ['001_schemas.sql', '002_tables.sql', '003_rows.sql', '004_more.sql'],
    ]);
    expect(await trackedVersions(url, 'primary')).toEqual(['1', '2']);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
    // The row counters of one transaction hold every migration's rows: each event has its own.
    expect(await recordedRows(url, '4')).toEqual([
      { table: 'workspace.items', inserted: 2, updated: 0, deleted: 0 },
    ]);
    // One transaction: every tracking row has its start time, now().
    const [xids] = await query<{ n: number }>(
      url,
      'SELECT count(DISTINCT at)::int AS n FROM schemata.migrations',
    );
    expect(xids!.n).toBe(1);
  });

  it('records the rows each migration wrote as a transaction per migration does, on a database that held no table', async () => {
    // The run's one transaction there reads the counters of the tables it made, not its piled-up locks
    // (engine/measure.ts WRITTEN_FROM_MADE): every way a row is written, into a table an earlier migration made.
    const files = {
      ...SMALL_SETS,
      'data/003_more.sql': `CREATE TABLE workspace.log (at int);
CREATE TABLE workspace.events (at int, note text) PARTITION BY RANGE (at);
CREATE TABLE workspace.events_low PARTITION OF workspace.events FOR VALUES FROM (0) TO (100);
CREATE TABLE workspace.base (id int); CREATE TABLE workspace.derived () INHERITS (workspace.base);
CREATE FUNCTION workspace.logged() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO workspace.log VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER items_logged AFTER INSERT ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.logged();
CREATE PROCEDURE workspace.fill() LANGUAGE sql AS $$ INSERT INTO workspace.events VALUES (1, 'a'), (2, 'b') $$;
`,
      'data/004_nothing.sql': 'CREATE INDEX items_id ON workspace.items (id);\n',
      'data/005_fill.sql': `INSERT INTO workspace.items VALUES (1), (2), (3);
CALL workspace.fill();
INSERT INTO workspace.derived VALUES (9);
DO $$ BEGIN EXECUTE 'UPDATE workspace.items SET id = id + 10 WHERE id > 1'; END $$;
`,
      'data/006_trim.sql':
        'DELETE FROM workspace.items WHERE id = 1;\nUPDATE workspace.events SET note = $$c$$;\n',
      // A table made three migrations before, first written now; then a migration that writes nothing.
      'data/007_late.sql': 'INSERT INTO workspace.base VALUES (5), (6);\n',
      'data/008_quiet.sql': 'CREATE INDEX base_id ON workspace.base (id);\n',
      'data/009_again.sql':
        'UPDATE workspace.base SET id = 7 WHERE id = 5;\nINSERT INTO workspace.log VALUES (0);\n',
      'primary/003_settings.sql': "INSERT INTO config.settings VALUES ('a', 'b');\n",
    };
    const eventsOf = async (url: string) =>
      query<{ set: string; version: string; rows: unknown }>(
        url,
        "SELECT set_name AS set, version, effects -> 'rows' AS rows FROM schemata.migrations ORDER BY set_name, version",
      );
    const [one, each] = [await freshDatabase(), await freshDatabase()];
    expect(
      (await migrate({ cwd: makeProject(files), env: single(one), singleTransaction: true })).error,
    ).toBeUndefined();
    expect((await migrate({ cwd: makeProject(files), env: single(each) })).error).toBeUndefined();
    const recorded = await eventsOf(one);
    expect(recorded).toEqual(await eventsOf(each));
    const rowsOf = (version: string) =>
      recorded.find((e) => e.set === 'data' && e.version === version)?.rows;
    expect(rowsOf('4')).toEqual([]);
    expect(rowsOf('5')).toEqual([
      { table: 'workspace.derived', inserted: 1, updated: 0, deleted: 0 },
      { table: 'workspace.events_low', inserted: 2, updated: 0, deleted: 0 },
      { table: 'workspace.items', inserted: 3, updated: 2, deleted: 0 },
      { table: 'workspace.log', inserted: 3, updated: 0, deleted: 0 },
    ]);
    expect(rowsOf('6')).toEqual([
      { table: 'workspace.events_low', inserted: 0, updated: 2, deleted: 0 },
      { table: 'workspace.items', inserted: 0, updated: 0, deleted: 1 },
    ]);
    expect(rowsOf('7')).toEqual([{ table: 'workspace.base', inserted: 2, updated: 0, deleted: 0 }]);
    expect(rowsOf('8')).toEqual([]);
    expect(rowsOf('9')).toEqual([
      { table: 'workspace.base', inserted: 0, updated: 1, deleted: 0 },
      { table: 'workspace.log', inserted: 1, updated: 0, deleted: 0 },
    ]);
  });

  it("records each migration's own rows after one was run again (a forced loss the measurement alone saw)", async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    await query(url, 'INSERT INTO workspace.items VALUES (1), (2), (3)');
    writeFile(cwd, 'data/003_add.sql', 'INSERT INTO workspace.items VALUES (4);\n');
    // The statement is built at run time: only the measurement sees the table emptied, and runs the file again
    // with it traced; the rows its first try deleted still count in the transaction.
    writeFile(
      cwd,
      'data/004_clear.sql',
      "DO $$ BEGIN EXECUTE format('DELETE FROM %I.%I', 'workspace', 'items'); END $$;\n",
    );
    writeFile(cwd, 'data/005_refill.sql', 'INSERT INTO workspace.items VALUES (7);\n');
    writeFile(cwd, 'data/006_touch.sql', 'UPDATE workspace.items SET id = 8;\n');
    const report = await migrate({ cwd, env: single(url), singleTransaction: true, force: true });
    expect(report.error).toBeUndefined();
    expect(report.sets[1]!.warnings.join('\n')).toContain('workspace.items');
    const rows = (inserted: number, updated: number, deleted: number) => [
      { table: 'workspace.items', inserted, updated, deleted },
    ];
    expect(await recordedRows(url, '3')).toEqual(rows(1, 0, 0));
    expect(await recordedRows(url, '4')).toEqual(rows(0, 0, 4));
    expect(await recordedRows(url, '5')).toEqual(rows(1, 0, 0));
    expect(await recordedRows(url, '6')).toEqual(rows(0, 1, 0));
  });

  it.each([
    ['a statement', 'INSERT INTO workspace.items VALUES (1), (1);\n', EXIT.failed],
    ['a DO block', "DO $$ BEGIN RAISE EXCEPTION 'no'; END $$;\n", EXIT.failed],
    [
      'a function it calls',
      "CREATE FUNCTION workspace.boom() RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;\nSELECT workspace.boom();\n",
      EXIT.failed,
    ],
    [
      'data protection (dynamic SQL empties a table that held rows)',
      "DO $$ BEGIN EXECUTE '' || 'TRUNCATE legacy.keep'; END $$;\n",
      EXIT.refused,
    ],
  ])(
    'a failure of the last migration (%s) leaves nothing of the run, tracking included',
    async (_, sql, exitCode) => {
      const url = await freshDatabase();
      await query(
        url,
        'CREATE SCHEMA legacy; CREATE TABLE legacy.keep (id int); INSERT INTO legacy.keep VALUES (1);',
      );
      const cwd = makeProject({ ...SMALL_SETS, 'data/003_last.sql': sql });
      const report = await migrate({ cwd, env: single(url), singleTransaction: true });
      expect(report.exitCode).toBe(exitCode);
      expect(report.error!.message).toContain(
        'every migration this run applied to the database before it is undone too',
      );
      expect(report.sets.flatMap((s) => s.applied)).toEqual([]);
      expect(report.sets[0]!.pending.map((p) => p.file)).toEqual([
        '001_schemas.sql',
        '002_tables.sql',
      ]);
      expect(report.sets[0]!.warnings.join('\n')).toContain('none of them stayed');
      expect(await tableExists(url, 'config.settings')).toBe(false);
      expect(await tableExists(url, 'workspace.items')).toBe(false);
      expect(await events(url)).toBe(0);
      expect(await query(url, 'SELECT count(*)::int AS n FROM legacy.keep')).toEqual([{ n: 1 }]);
    },
  );

  it.each([
    [
      'a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_id_idx ON workspace.items (id);\n',
    ],
    [
      'a file with BEGIN ... COMMIT blocks of its own',
      'BEGIN;\nCREATE TABLE workspace.a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE workspace.b (id int);\nCOMMIT;\n',
    ],
    [
      'a file with an isolation level of its own',
      'BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE workspace.a (id int);\nCOMMIT;\n',
    ],
  ])(
    '%s commits the migrations before it; a later failure undoes only those after it',
    async (_, sql) => {
      const url = await freshDatabase();
      const cwd = makeProject({
        ...SMALL_SETS,
        'data/003_own.sql': sql,
        'data/004_after.sql': 'CREATE TABLE workspace.after (id int);\n',
        'data/005_fails.sql': 'SELECT 1/0;\n',
      });
      const report = await migrate({ cwd, env: single(url), singleTransaction: true });
      expect(report.exitCode).toBe(EXIT.failed);
      expect(await trackedVersions(url, 'primary')).toEqual(['1', '2']);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
      expect(await tableExists(url, 'workspace.items')).toBe(true);
      expect(await tableExists(url, 'workspace.after')).toBe(false);
      expect(report.sets[1]!.applied.map((a) => a.file)).toEqual([
        '001_schemas.sql',
        '002_tables.sql',
        '003_own.sql',
      ]);
    },
  );

  it("gives each migration a clean session: a file's SET, SET LOCAL and SET ROLE do not reach the next", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_sets.sql':
        "SET search_path TO reference;\nSET LOCAL statement_timeout = '1ms';\nSET ROLE pg_read_all_data;\n",
      'data/004_unqualified.sql': 'CREATE TABLE plain (id int);\nSELECT pg_sleep(0.05);\n',
    });
    const report = await migrate({ cwd, env: single(url), singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(await tableExists(url, 'public.plain')).toBe(true);
    expect(await tableExists(url, 'reference.plain')).toBe(false);
  });

  it('in split mode is one transaction per database: a failure on the second leaves the first applied', async () => {
    const [primary, data] = [await freshDatabase('primary'), await freshDatabase('data')];
    const cwd = makeProject({ ...SMALL_SETS, 'data/003_fails.sql': 'SELECT 1/0;\n' });
    const report = await migrate({
      cwd,
      env: { SPLIT_DB_MODE: 'true', PRIMARY_DATABASE_URL: primary, DATA_DATABASE_URL: data },
      singleTransaction: true,
    });
    expect(report.exitCode).toBe(EXIT.failed);
    expect(await trackedVersions(primary, 'primary')).toEqual(['1', '2']);
    expect(await tableExists(primary, 'config.settings')).toBe(true);
    expect(await events(data)).toBe(0);
    expect(await tableExists(data, 'workspace.items')).toBe(false);
    expect(report.sets[0]!.applied).toHaveLength(2);
    expect(report.sets[1]!.applied).toEqual([]);
  });

  it('--repair runs again what is missing in one transaction', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    await query(url, 'DROP TABLE workspace.items; DROP TABLE config.settings');
    const report = await migrate({ cwd, env: single(url), repair: true, singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(await tableExists(url, 'workspace.items')).toBe(true);
    expect(await tableExists(url, 'config.settings')).toBe(true);
    const [xids] = await query<{ n: number }>(
      url,
      "SELECT count(DISTINCT at)::int AS n FROM schemata.migrations WHERE event = 'repaired'",
    );
    expect(xids!.n).toBe(1);
  });

  it('--dry-run says the run is one transaction, and writes nothing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_index.sql':
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_id_idx ON workspace.items (id);\n',
    });
    const titles: string[] = [];
    const report = await migrate({
      cwd,
      env: single(url),
      dryRun: true,
      singleTransaction: true,
      runner: async (tasks) => {
        for (const task of tasks) {
          const children = await task.run(
            (t) => titles.push(t),
            () => {},
          );
          for (const child of children ?? []) titles.push(child.title);
        }
      },
    });
    expect(report.error).toBeUndefined();
    expect(titles.join('\n')).toContain('the run is one transaction');
    expect(titles.join('\n')).toContain("2 of 3 migrations in the run's one transaction");
    expect(titles.join('\n')).toContain(
      'would apply 003_index.sql (outside a transaction: what runs before it commits first)',
    );
    expect(report.sets[1]!.plan!.map((m) => m.inRunTransaction)).toEqual([true, true, false]);
    expect(await events(url)).toBe(0);
  });

  it("runs each migration once after one that dropped a column of a table that was there: the column counts as its, not the later ones'", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SMALL_SETS,
      'data/003_more.sql':
        'CREATE TABLE workspace.notes (id int, body text);\nCREATE SEQUENCE workspace.runs;\n',
    });
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    writeFile(cwd, 'data/004_drop.sql', 'ALTER TABLE workspace.notes DROP COLUMN body;\n');
    // A sequence counts what ran, rolled back or not: a migration run again to measure a suspect counts twice.
    for (const v of ['005', '006', '007'])
      writeFile(
        cwd,
        `data/${v}_next.sql`,
        `CREATE TABLE workspace.t${v} (id int);\nSELECT nextval('workspace.runs');\n`,
      );
    const report = await migrate({ cwd, env: single(url), singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(await query(url, 'SELECT last_value::int AS n FROM workspace.runs')).toEqual([{ n: 3 }]);
  });
});
