import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import {
  databaseName,
  freshDatabase,
  query,
  setOnDatabase,
  trackedVersions,
  roleWithoutFunctions,
} from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { makeProject, writeFile } from '../support/project.js';
import { FUNCTIONS } from '../../src/engine/functions.js';

/*
 * The guarantee of SPEC §5 measured in the transaction: whatever runs the
 * destruction (a procedure through CALL, a trigger, a function with its own
 * search_path, CASCADE through a view) and whatever holds the rows (a
 * partition, an inheritance child), no row is lost without --force. Every
 * case starts from tables holding rows and counts them from the server
 * afterwards.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    'CREATE TABLE workspace.items (id int PRIMARY KEY, label varchar(40));',
    'CREATE TABLE workspace.events (id int, at date NOT NULL) PARTITION BY RANGE (at);',
    "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
    'CREATE TABLE workspace.base (id int, note text);',
    'CREATE TABLE workspace.child (extra int) INHERITS (workspace.base);',
    'CREATE TABLE workspace.audit (id int PRIMARY KEY);',
    'CREATE VIEW workspace.item_labels AS SELECT id FROM workspace.items;',
    'CREATE MATERIALIZED VIEW workspace.label_counts AS SELECT count(*) AS n FROM workspace.item_labels;',
    '',
  ].join('\n'),
};

async function setUp() {
  return appliedDataSet(
    BASE,
    `INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry');
     INSERT INTO workspace.events VALUES (1, '2025-03-01'), (2, '2025-04-01');
     INSERT INTO workspace.child VALUES (1, 'child row', 7);
     INSERT INTO workspace.audit VALUES (1);
     REFRESH MATERIALIZED VIEW workspace.label_counts;`,
  );
}

const count = async (url: string, table: string) =>
  (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** The labels of workspace.items, in order. */
const labels = async (url: string) =>
  (await query<{ label: string }>(url, 'SELECT label FROM workspace.items ORDER BY 1')).map(
    (r) => r.label,
  );

const FRUIT = ['apple', 'banana', 'cherry'];

/** The data set migrated, in the run's one transaction where the case's name says so. */
const migrateAsNamed = (what: string, cwd: string, env: Record<string, string>) =>
  migrate({ cwd, env, sets: ['data'], singleTransaction: what.includes('one transaction') });

/** Refused by the forecast or the measurement: exit 4, the table's rows there, the file not tracked. */
async function expectNoLoss(
  report: Awaited<ReturnType<typeof migrate>>,
  url: string,
  table: string,
  rows: number,
  names: string,
) {
  expect(report.exitCode).toBe(4);
  expect(
    `${report.error?.message ?? ''} ${report.sets[0]!.problems.map((p) => p.message).join(' ')}`,
  ).toContain(names);
  expect(await count(url, table)).toBe(rows);
  expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
}

describe('data protection measured in the transaction', () => {
  it.each([
    [
      'a procedure made in the same file, through CALL',
      'CREATE PROCEDURE workspace.clear() LANGUAGE sql AS $$ DELETE FROM workspace.items $$;\nCALL workspace.clear();\n',
    ],
    [
      'a PL/pgSQL procedure through CALL in a DO block',
      "CREATE PROCEDURE workspace.clear() LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'TRUNCATE workspace.items CASCADE'; END $$;\nDO $$ BEGIN CALL workspace.clear(); END $$;\n",
    ],
    [
      'a SQL function with its own search_path',
      'CREATE FUNCTION workspace.tidy() RETURNS void LANGUAGE sql SET search_path = workspace AS $$ DELETE FROM items $$;\nSELECT workspace.tidy();\n',
    ],
    [
      'UPDATE ... USING-free rewrite: ALTER COLUMN TYPE USING that cuts',
      'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80) USING left(label, 3);\n',
    ],
    ['USING NULL', 'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80) USING NULL;\n'],
    [
      'a narrowing type change in a DO block',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(2) USING left(label, 2)'; END $$;\n",
    ],
    [
      'USING NULL to the same type in dynamic SQL (every value written anew, no type changed)',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(40) USING NULL'; END $$;\n",
    ],
    [
      'USING to the same type in dynamic SQL, in a block of its own BEGIN ... COMMIT',
      "BEGIN;\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(40) USING NULL'; END $$;\nCOMMIT;\n",
    ],
    [
      'a widening whose USING casts through a narrower type',
      'ALTER TABLE workspace.items ALTER COLUMN label TYPE text USING label::varchar(1)::text;\n',
    ],
    [
      'a widening whose USING is CAST to a shorter varchar',
      'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80) USING CAST(label AS varchar(2));\n',
    ],
    [
      'a widening whose USING casts through a narrower type, in a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nALTER TABLE workspace.items ALTER COLUMN label TYPE text USING (label)::char(3)::text;\n',
    ],
    [
      'a widening, then the same column changed again by dynamic SQL',
      "ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80);\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ALTER COLUMN label TYPE text USING NULL'; END $$;\n",
    ],
    [
      'a widening, then the same column rewritten to that type by dynamic SQL',
      "ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80);\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80) USING upper(label)'; END $$;\n",
    ],
    [
      'USING to the same type in a procedure through CALL',
      "CREATE PROCEDURE workspace.shout() LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('ALTER TABLE workspace.items ALTER COLUMN label TYPE %s USING upper(label)', 'varchar(40)'); END $$;\nCALL workspace.shout();\n",
    ],
  ])('keeps the rows of workspace.items against %s', async (_what, sql) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_change.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await query(url, 'SELECT label FROM workspace.items ORDER BY id')).toEqual([
      { label: 'apple' },
      { label: 'banana' },
      { label: 'cherry' },
    ]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('a procedure an earlier deploy made, called by the new migration: refused, named with its rows', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      'CREATE PROCEDURE public.purge() LANGUAGE sql AS $$ DELETE FROM workspace.items $$',
    );
    writeFile(cwd, 'data/003_call.sql', 'CALL purge();\n');
    // The forecast reads the procedure's body: refused before the run.
    await expectNoLoss(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      'workspace.items',
      3,
      'DELETE FROM workspace.items without a WHERE that limits it (in procedure public.purge) would destroy data: workspace.items holds 3 rows',
    );
  });

  it('a trigger of an earlier deploy fired by INSERT ... ON CONFLICT DO NOTHING that empties another table', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      `CREATE FUNCTION public.wipe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM workspace.items; RETURN NEW; END $$;
       CREATE TRIGGER wipe BEFORE INSERT ON workspace.audit FOR EACH ROW EXECUTE FUNCTION public.wipe();`,
    );
    writeFile(
      cwd,
      'data/003_insert.sql',
      'INSERT INTO workspace.audit VALUES (2) ON CONFLICT DO NOTHING;\n',
    );
    await expectNoLoss(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      'workspace.items',
      3,
      '(in function public.wipe, fired by trigger wipe on workspace.audit) would destroy data: workspace.items holds 3 rows',
    );
  });

  it.each([
    ['DROP TABLE of the partitioned parent', 'DROP TABLE workspace.events;\n'],
    ['DROP COLUMN on the partitioned parent', 'ALTER TABLE workspace.events DROP COLUMN id;\n'],
    [
      'TRUNCATE of the parent in a DO block',
      "DO $$ BEGIN EXECUTE '' || 'TRUNCATE workspace.events'; END $$;\n",
    ],
  ])('a partitioned table holds the rows of its partitions: %s', async (_what, sql) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_events.sql', sql);
    await expectNoLoss(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      'workspace.events',
      2,
      'events',
    );
    expect(
      (await query<{ n: number }>(url, 'SELECT count(id)::int AS n FROM workspace.events'))[0]!.n,
    ).toBe(2);
  });

  it.each([
    [
      'TRUNCATE of the parent in a DO block',
      "DO $$ BEGIN EXECUTE '' || 'TRUNCATE workspace.many'; END $$;\n",
    ],
    [
      'DELETE of every row in a DO block',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.many'; END $$;\n",
    ],
  ])(
    'a partitioned table of 150 partitions, the rows in the last (the storage listing read once, not per table): %s',
    async (_what, sql) => {
      const partitions = Array.from(
        { length: 150 },
        (_, i) =>
          `CREATE TABLE workspace.many_${i} PARTITION OF workspace.many FOR VALUES FROM (${i * 10}) TO (${(i + 1) * 10});`,
      ).join('\n');
      const { url, cwd, env } = await appliedDataSet(
        {
          ...BASE,
          'data/002_tables.sql': `CREATE TABLE workspace.many (id int) PARTITION BY RANGE (id);\n${partitions}\n`,
        },
        'INSERT INTO workspace.many VALUES (1495), (1496)',
      );
      writeFile(cwd, 'data/003_many.sql', sql);
      await expectNoLoss(
        await migrate({ cwd, env, sets: ['data'] }),
        url,
        'workspace.many',
        2,
        'many_149',
      );
    },
  );

  it("DROP TABLE parent CASCADE takes an inheritance child with rows: refused, the parent holding its child's rows", async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_base.sql', 'DROP TABLE workspace.base CASCADE;\n');
    await expectNoLoss(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      'workspace.child',
      1,
      'workspace.base holds 1 row',
    );
  });

  it('DROP VIEW ... CASCADE taking a populated materialized view built on it: refused', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_view.sql', 'DROP VIEW workspace.item_labels CASCADE;\n');
    await expectNoLoss(
      await migrate({ cwd, env, sets: ['data'] }),
      url,
      'workspace.label_counts',
      1,
      'workspace.label_counts',
    );
  });

  it('a table of more than 10,000 rows emptied where only the measurement sees it: named with its rows, counted no further', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      `CREATE TABLE workspace.big (id int); INSERT INTO workspace.big SELECT generate_series(1, 12000);
       CREATE PROCEDURE public.purge_big() LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'DELETE FROM ' || 'workspace.big'; END $$`,
    );
    writeFile(cwd, 'data/003_call.sql', 'CALL purge_big();\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'table workspace.big held more than 10,000 rows and is now empty (its rows were deleted)',
    );
    expect(report.sets[0]!.problems.map((p) => p.holders)).toEqual([
      [{ table: 'workspace.big', rows: 10000, more: true }],
    ]);
    expect(await count(url, 'workspace.big')).toBe(12000);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('-- schemata:force lets the loss through and the history event keeps what the migration did to rows', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_call.sql',
      "-- schemata:force\nINSERT INTO workspace.audit VALUES (5), (6);\nUPDATE workspace.audit SET id = id + 10 WHERE id = 5;\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(0);
    const [event] = await query<{ rows: unknown; forced: string }>(
      url,
      "SELECT effects->'rows' AS rows, effects->>'forced' AS forced FROM schemata.migrations WHERE version = '3'",
    );
    expect(event!.rows).toEqual([
      { table: 'workspace.audit', inserted: 2, updated: 1, deleted: 0 },
      { table: 'workspace.items', inserted: 0, updated: 0, deleted: 3 },
    ]);
    expect(event!.forced).toContain('workspace.items held 3 rows and is now empty');
    // SPEC §5: each forced step is a warning naming the table and its rows, the measured ones too.
    expect(report.sets[0]!.warnings).toContain(
      'database/data/003_call.sql: measured in its transaction: table workspace.items held 3 rows and is now empty (its rows were deleted); allowed (-- schemata:force).',
    );
  });

  it('--force on a file outside a transaction: the loss the measurement saw is a warning too', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_outside.sql',
      "-- schemata:no-transaction\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'], force: true });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(0);
    expect(report.sets[0]!.warnings).toContain(
      'database/data/003_outside.sql: measured in its transaction: table workspace.items held 3 rows and is now empty (its rows were deleted); allowed (--force).',
    );
  });

  it('harmless DDL on tables full of rows runs without --force, measured but not refused', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_harmless.sql',
      [
        'ALTER TABLE workspace.items SET UNLOGGED;',
        'ALTER TABLE workspace.items SET LOGGED;',
        'ALTER TABLE workspace.audit DROP CONSTRAINT audit_pkey;',
        "COMMENT ON TABLE workspace.items IS 'things';",
        'GRANT SELECT ON workspace.items TO PUBLIC;',
        'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80);',
        'ALTER TABLE workspace.audit ALTER COLUMN id TYPE bigint;',
        'ALTER TABLE workspace.items ADD COLUMN price numeric;',
        'REFRESH MATERIALIZED VIEW workspace.label_counts;',
        "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.base ADD COLUMN later int'; END $$;",
        '',
      ].join('\n'),
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it.each([
    [
      'a partitioned table: its partitions change with it',
      'ALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;\n',
    ],
    [
      'an inheritance parent: its children change with it',
      'ALTER TABLE workspace.base ALTER COLUMN id TYPE bigint;\n',
    ],
    [
      'a partitioned table, in a file with its own BEGIN ... COMMIT',
      'BEGIN;\nALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;\nCOMMIT;\n',
    ],
    [
      'a partitioned table, in a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nALTER TABLE workspace.events ALTER COLUMN id TYPE bigint;\n',
    ],
  ])('a widening type change on %s runs without --force', async (_what, sql) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_widen.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(await count(url, 'workspace.events')).toBe(2);
    expect(await count(url, 'workspace.base')).toBe(1);
  });

  it('a same-type USING on a partitioned table in dynamic SQL: its partition judged, the rewrite named', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_shift.sql',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.events ALTER COLUMN id TYPE int USING id + 100'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectNoLoss(report, url, 'workspace.events', 2, 'workspace.events_2025');
    expect(report.error!.message).toContain(
      'held 2 rows and every one of them was written anew by a rewrite that kept each column',
    );
    expect(await query(url, 'SELECT id FROM workspace.events ORDER BY id')).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
  });

  it('a same-type USING on an inheritance parent in dynamic SQL: its child judged as itself', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_wipe.sql',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.base ALTER COLUMN note TYPE text USING NULL'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectNoLoss(report, url, 'workspace.child', 1, 'workspace.child');
    expect(report.error!.message).toContain(
      'table workspace.child (of workspace.base) held 1 row and every one of them was written anew',
    );
    expect(await query(url, 'SELECT note FROM workspace.child')).toEqual([{ note: 'child row' }]);
  });

  it('a type change only dynamic SQL makes is refused without calling it no widening: the measurement cannot see a USING', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_widen.sql',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.audit ALTER COLUMN id TYPE bigint'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectNoLoss(report, url, 'workspace.audit', 1, 'workspace.audit');
    expect(report.error!.message).toContain(
      'column id of table workspace.audit (1 row) changed type from integer to bigint, and the forecast allowed no widening there',
    );
  });

  it.each([
    [
      'a table moved to another schema, then emptied by dynamic SQL',
      "ALTER TABLE workspace.items SET SCHEMA reference;\nDO $$ BEGIN EXECUTE '' || 'TRUNCATE reference.items CASCADE'; END $$;\n",
      'table reference.items (workspace.items before this migration) held 3 rows and is now empty',
    ],
    [
      'a table renamed, then a column of it dropped by dynamic SQL',
      "ALTER TABLE workspace.items RENAME TO goods;\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.goods DROP COLUMN label'; END $$;\n",
      'column label of table workspace.goods (workspace.items before this migration) held data (3 rows) and is gone',
    ],
  ])('%s: the loss names the table as it is now and as it was', async (_what, sql, words) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_moved.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectNoLoss(report, url, 'workspace.items', 3, words);
  });

  it('a table the same run created and filled may be dropped later in the run', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...BASE,
      'data/003_seed.sql':
        'CREATE TABLE workspace.scratch (id int);\nINSERT INTO workspace.scratch VALUES (1), (2);\n',
      'data/004_drop.sql': 'DROP TABLE workspace.scratch;\n',
    });
    const report = await migrate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
  });
});

describe("outside schemata's transaction", () => {
  it('a -- schemata:no-transaction file is measured per statement and its SET search_path does not reach the next migration', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      'CREATE SCHEMA app; CREATE TABLE app.items (id int); INSERT INTO app.items VALUES (1), (2);',
    );
    writeFile(
      cwd,
      'data/003_path.sql',
      '-- schemata:no-transaction\nSET search_path = app;\nCREATE TABLE IF NOT EXISTS made_here (id int);\n',
    );
    writeFile(cwd, 'data/004_next.sql', 'DROP TABLE IF EXISTS items;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    // The file's own path held for its own statements, and ended with it.
    expect(await count(url, 'app.made_here')).toBe(0);
    expect(await count(url, 'app.items')).toBe(2);
    expect(await count(url, 'workspace.items')).toBe(3);
  });

  // psql leaves a block the file never closes open, and loses it when its session ends; left open here, schemata's
  // own record committed it, unmeasured: every row gone, exit 0. It is measured and committed where the file ends.
  it.each([
    [
      'a -- schemata:no-transaction file',
      "-- schemata:no-transaction\nBEGIN;\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\n",
      2,
      'BEGIN',
    ],
    [
      'a file whose BEGIN is not its first statement',
      'CREATE TABLE IF NOT EXISTS workspace.first (id int);\nBEGIN;\nDELETE FROM workspace.items WHERE id > 0;\n',
      2,
      'BEGIN',
    ],
    [
      'START TRANSACTION with an isolation level, after a SET',
      'SET lock_timeout = 1000;\nSTART TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nDELETE FROM workspace.items WHERE id > 0;\n',
      2,
      'START TRANSACTION',
    ],
  ])(
    'a block the file opens and never closes, in %s: measured, the loss refused, and the plan says it',
    async (_where, sql, line, word) => {
      const { url, cwd, env } = await setUp();
      writeFile(cwd, 'data/003_open.sql', sql);
      const said = `database/data/003_open.sql:${line}:1: ${word} opens a transaction block that the file never closes: psql would roll it back when its session ends, losing what the block did; schemata commits it when the file ends, measured as the file's other blocks.`;
      const dry = await migrate({ cwd, env, sets: ['data'], dryRun: true });
      expect(dry.sets[0]!.warnings).toContain(said);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      expect(report.error!.message).toContain('workspace.items held 3 rows and is now empty');
      expect(await count(url, 'workspace.items')).toBe(3);
      expect(report.sets[0]!.warnings).toContain(said);

      // Forced, the block commits with the file, and its event keeps what it did to rows.
      const forced = await migrate({ cwd, env, sets: ['data'], force: true, repair: true });
      expect(forced.error).toBeUndefined();
      expect(await count(url, 'workspace.items')).toBe(0);
      const events = await query<{ rows: unknown }>(
        url,
        "SELECT effects->'rows' AS rows FROM schemata.migrations WHERE version = '3' AND event IN ('applied', 'repaired')",
      );
      expect(events.map((e) => e.rows)).toEqual([
        [{ table: 'workspace.items', inserted: 0, updated: 0, deleted: 3 }],
      ]);
    },
  );

  it('a block the file never closes that makes a table commits with the file', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_open.sql',
      'SELECT 1;\nBEGIN;\nCREATE TABLE workspace.made (id int);\nINSERT INTO workspace.made VALUES (1);\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.made')).toBe(1);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('a -- schemata:no-transaction file that empties a table through a procedure: that statement rolled back, the file dirty', async () => {
    const { url, cwd, env } = await setUp();
    // Dynamic SQL: the forecast cannot read it, the measurement of the statement catches it.
    await query(
      url,
      "CREATE PROCEDURE public.purge() LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$",
    );
    writeFile(
      cwd,
      'data/003_call.sql',
      '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS workspace.before_call (id int);\nCALL purge();\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain('workspace.items held 3 rows and is now empty');
    expect(report.sets[0]!.problems[0]!.holders).toEqual([
      { table: 'workspace.items', rows: 3, more: false },
    ]);
    expect(report.error!.message).toContain('Already committed and kept: line 2');
    expect(await count(url, 'workspace.items')).toBe(3);
  });

  it('a -- schemata:no-transaction file whose dynamic USING writes every value anew to the same type: that statement rolled back', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_wipe.sql',
      "-- schemata:no-transaction\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(40) USING NULL'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'table workspace.items held 3 rows and every one of them was written anew',
    );
    expect(await labels(url)).toEqual(FRUIT);
  });

  it('a file with its own BEGIN ... COMMIT blocks: each block measured, a block that drops a table with rows rolled back', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_blocks.sql',
      "BEGIN;\nCREATE TABLE workspace.first_block (id int);\nCOMMIT;\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nDO $$ BEGIN EXECUTE '' || 'DROP TABLE workspace.child'; END $$;\nCOMMIT;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain('workspace.child');
    expect(await count(url, 'workspace.child')).toBe(1);
    expect(await count(url, 'workspace.first_block')).toBe(0);
  });
});

/*
 * A table that loses every row it held while new ones are written into it
 * (DELETE of every row or TRUNCATE, then INSERT) has lost its data as surely
 * as an emptied one, whatever ran it where the forecast cannot read; the
 * changes that keep rows run without --force.
 */

describe('a table refilled with none of the rows it held', () => {
  it.each([
    [
      'dynamic SQL deletes every row, a plain INSERT follows',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.' || 'items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
    ],
    [
      'dynamic TRUNCATE, then INSERT',
      "DO $$ BEGIN EXECUTE '' || 'TRUNC' || 'ATE workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
    ],
    [
      'a PL/pgSQL function made in the same file',
      "CREATE FUNCTION workspace.reseed() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); END $$;\nSELECT workspace.reseed();\n",
    ],
    [
      'a procedure through CALL',
      "CREATE PROCEDURE workspace.reseed() LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'TRUNCATE workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); END $$;\nCALL workspace.reseed();\n",
    ],
    [
      'a PL/pgSQL block with an EXCEPTION clause (a subtransaction of its own)',
      "DO $$ BEGIN BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); EXCEPTION WHEN unique_violation THEN NULL; END; END $$;\n",
    ],
    [
      'every row deleted, new ones inserted and then updated',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new'), (10, 'newer');\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = upper(label)'; END $$;\n",
    ],
    [
      'a -- schemata:no-transaction file',
      "-- schemata:no-transaction\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); END $$;\n",
    ],
    [
      'a block of its own BEGIN ... COMMIT',
      "BEGIN;\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\nCOMMIT;\n",
    ],
  ])('%s: refused, the rows kept', async (_what, sql) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_reseed.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'table workspace.items held 3 rows and none of them is left',
    );
    expect(await labels(url)).toEqual(FRUIT);
  });

  it('a trigger of an earlier deploy that reseeds another table, fired by an INSERT', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      `CREATE FUNCTION public.reseed() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); RETURN NEW; END $$;
       CREATE TRIGGER reseed AFTER INSERT ON workspace.audit FOR EACH ROW EXECUTE FUNCTION public.reseed();`,
    );
    writeFile(cwd, 'data/003_audit.sql', 'INSERT INTO workspace.audit VALUES (2);\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain('workspace.items held 3 rows and none of them is left');
    expect(await labels(url)).toEqual(FRUIT);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('a partition and an inheritance child, each judged as itself', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_trees.sql',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.events'; EXECUTE '' || 'DELETE FROM workspace.base'; END $$;\nINSERT INTO workspace.events VALUES (9, '2025-09-01');\nINSERT INTO workspace.child VALUES (9, 'new', 0);\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'table workspace.events_2025 held 2 rows and none of them is left',
    );
    expect(report.error!.message).toContain(
      'table workspace.child held 1 row and none of them is left',
    );
    expect(
      (await query<{ id: number }>(url, 'SELECT id FROM workspace.events ORDER BY 1')).map(
        (r) => r.id,
      ),
    ).toEqual([1, 2]);
    expect(await count(url, 'workspace.base')).toBe(1);
    expect(
      (await query<{ note: string }>(url, 'SELECT note FROM workspace.child')).map((r) => r.note),
    ).toEqual(['child row']);
  });

  it('--single-transaction: a later migration that reseeds a table an earlier one added a row to', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_add.sql', "INSERT INTO workspace.items VALUES (4, 'date');\n");
    writeFile(
      cwd,
      'data/004_reseed.sql',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'], singleTransaction: true });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain('004_reseed.sql');
    expect(report.error!.message).toContain('workspace.items held 4 rows and none of them is left');
    expect(await labels(url)).toEqual(FRUIT);
  });

  it('-- schemata:force lets a reseed through, and its history event says what was lost', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_reseed.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(['new']);
    const [event] = await query<{ forced: string }>(
      url,
      "SELECT effects->>'forced' AS forced FROM schemata.migrations WHERE version = '3'",
    );
    expect(event!.forced).toBe(
      'table workspace.items held 3 rows and none of them is left (its rows were deleted, and every row it holds now was written by this migration)',
    );
    expect(report.sets[0]!.warnings).toContain(
      'database/data/003_reseed.sql: measured in its transaction: table workspace.items held 3 rows and none of them is left (its rows were deleted, and every row it holds now was written by this migration); allowed (-- schemata:force).',
    );
  });
});

describe('what keeps the rows it held runs without --force', () => {
  it.each([
    [
      'some rows updated, in dynamic SQL',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = upper(label) WHERE id <> 2'; END $$;\n",
      ['APPLE', 'CHERRY', 'banana'],
    ],
    [
      'some rows upserted, in dynamic SQL',
      "DO $$ BEGIN EXECUTE '' || 'INSERT INTO workspace.items SELECT id, label || ''!'' FROM workspace.items WHERE id = 1 ON CONFLICT (id) DO UPDATE SET label = excluded.label'; END $$;\n",
      ['apple!', 'banana', 'cherry'],
    ],
    [
      'some rows deleted, one inserted',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items WHERE id > 1'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
      ['apple', 'new'],
    ],
    [
      'some rows deleted, the others updated, new ones inserted',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items WHERE id = 1'; EXECUTE '' || 'UPDATE workspace.items SET label = label || ''?'''; END $$;\nINSERT INTO workspace.items VALUES (8, 'fig'), (9, 'grape'), (10, 'kiwi');\n",
      ['banana?', 'cherry?', 'fig', 'grape', 'kiwi'],
    ],
    [
      'one row deleted, the others updated',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items WHERE id = 1'; EXECUTE '' || 'UPDATE workspace.items SET label = label || ''?'''; END $$;\n",
      ['banana?', 'cherry?'],
    ],
    [
      'CLUSTER (its storage replaced, every row kept)',
      "DO $$ BEGIN EXECUTE '' || 'CLUSTER workspace.items USING items_pkey'; END $$;\n",
      FRUIT,
    ],
    [
      'SET TABLESPACE',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items SET TABLESPACE pg_default'; END $$;\n",
      FRUIT,
    ],
    [
      'a new column with a volatile default (every row rewritten)',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items ADD COLUMN token float8 DEFAULT random()'; END $$;\n",
      FRUIT,
    ],
    [
      'SET UNLOGGED (every row rewritten)',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items SET UNLOGGED'; END $$;\n",
      FRUIT,
    ],
    [
      'a materialized view refreshed (every row written anew)',
      "INSERT INTO workspace.items VALUES (4, 'date');\nDO $$ BEGIN EXECUTE '' || 'REFRESH MATERIALIZED VIEW workspace.label_counts'; END $$;\n",
      ['apple', 'banana', 'cherry', 'date'],
    ],
  ])('%s', async (_what, sql, after) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_change.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(after);
  });

  it('a generated column given a new expression (PostgreSQL 17 and later): computed again, the other columns kept', async (context) => {
    const { url, cwd, env } = await setUp();
    const version = (
      await query<{ version: number }>(
        url,
        "SELECT current_setting('server_version_num')::int AS version",
      )
    )[0]!.version;
    if (version < 170000) context.skip();
    await query(
      url,
      "CREATE TABLE workspace.named (id int PRIMARY KEY, label text, shout text GENERATED ALWAYS AS (upper(label)) STORED);\nINSERT INTO workspace.named VALUES (1, 'apple'), (2, 'pear');",
    );
    writeFile(
      cwd,
      'data/003_whisper.sql',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.named ALTER COLUMN shout SET EXPRESSION AS (lower(label) || ''.'')'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await query(url, 'SELECT label, shout FROM workspace.named ORDER BY id')).toEqual([
      { label: 'apple', shout: 'apple.' },
      { label: 'pear', shout: 'pear.' },
    ]);
  });

  it('--single-transaction: a forced reseed, then a migration that deletes one of the new rows', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_reseed.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (8, 'fig'), (9, 'grape');\n",
    );
    writeFile(
      cwd,
      'data/004_tidy.sql',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items WHERE id = 8'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'], singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(['grape']);
    // What the force let through is the reseed's alone: the next migration in the same transaction forced nothing.
    const forced = await query<{ version: string; forced: string | null }>(
      url,
      "SELECT version, effects->>'forced' AS forced FROM schemata.migrations WHERE set_name = 'data' AND version IN ('3', '4') ORDER BY id",
    );
    expect(forced).toEqual([
      {
        version: '3',
        forced: expect.stringContaining('table workspace.items held 3 rows') as string,
      },
      { version: '4', forced: null },
    ]);
  });
});

/*
 * The measurement reads PostgreSQL's row counters: with track_counts off (a
 * setting of the server, the database or the role) nothing is counted, and
 * a DELETE of every row in dynamic SQL went through with exit 0. It is
 * turned on for the migration's transaction; a role that may not turn it on
 * is told what to run, and nothing of the file is applied.
 */
describe('with track_counts off', () => {
  it('a superuser run turns it on, and a DELETE of every row in dynamic SQL is refused', async () => {
    const { url, cwd, env } = await setUp();
    await setOnDatabase(url, 'track_counts = off');
    writeFile(
      cwd,
      'data/003_clear.sql',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectNoLoss(report, url, 'workspace.items', 3, 'workspace.items held 3 rows');
  });

  /*
   * A superuser's file may turn the counters off itself, around the very
   * statement that deletes: a table written with no counter moving is then
   * asked whether it holds rows at all, and measured again where it is
   * empty.
   */
  it.each([
    [
      'deleted while the file had turned the counters off, and on again',
      "SET LOCAL track_counts = off;\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\nSET LOCAL track_counts = on;\n",
      'table workspace.items held 3 rows and is now empty',
    ],
    [
      'deleted with the counters turned off by set_config in the block',
      "DO $$ BEGIN PERFORM set_config('track_counts', 'off', true); EXECUTE '' || 'DELETE FROM workspace.items'; END $$;\n",
      'table workspace.items held 3 rows and is now empty',
    ],
  ])('%s: refused', async (_name, sql, names) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_clear.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    await expectNoLoss(report, url, 'workspace.items', 3, names);
    expect(await labels(url)).toEqual(['apple', 'banana', 'cherry']);
  });

  it('a table made while the file had turned the counters off is in the history event and the expected state', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_hidden.sql',
      'SET LOCAL track_counts = off;\nCREATE TABLE workspace.hidden (id int);\nSET LOCAL track_counts = on;\n',
    );
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    const [event] = await query<{ created: unknown }>(
      url,
      "SELECT effects->'created' AS created FROM schemata.migrations WHERE set_name = 'data' AND version = '3'",
    );
    expect(event!.created).toContainEqual({ kind: 'table', identity: 'workspace.hidden' });
    const expected = await query<{ version: string }>(
      url,
      "SELECT version FROM schemata.objects WHERE kind = 'table' AND identity = 'workspace.hidden'",
    );
    expect(expected).toEqual([{ version: '3' }]);
  });

  it('a role granted SET on track_counts is treated as a superuser: its hidden table is listed', async (ctx) => {
    const { url, cwd } = await setUp();
    const [{ version } = { version: 0 }] = await query<{ version: number }>(
      url,
      "SELECT current_setting('server_version_num')::int AS version",
    );
    if (version < 150000) ctx.skip(); // GRANT SET ON PARAMETER came with PostgreSQL 15
    const database = databaseName(url);
    const role = `tuner_${database}`;
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'tuner-pw'; ALTER DATABASE ${database} OWNER TO ${role};
       ALTER SCHEMA workspace OWNER TO ${role}; GRANT USAGE, CREATE ON SCHEMA schemata TO ${role};
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role};
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role};
       GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA schemata TO ${role};
       GRANT SET ON PARAMETER track_counts TO ${role}`,
    );
    const tuner = new URL(url);
    tuner.username = role;
    tuner.password = 'tuner-pw';
    writeFile(
      cwd,
      'data/003_hidden.sql',
      'SET LOCAL track_counts = off;\nCREATE TABLE workspace.hidden (id int);\nSET LOCAL track_counts = on;\n',
    );
    const report = await migrate({
      cwd,
      env: { PRIMARY_DATABASE_URL: tuner.toString() },
      sets: ['data'],
    });
    expect(report.error).toBeUndefined();
    const expected = await query<{ version: string }>(
      url,
      "SELECT version FROM schemata.objects WHERE kind = 'table' AND identity = 'workspace.hidden'",
    );
    expect(expected).toEqual([{ version: '3' }]);
  });

  it('in one transaction, a table an earlier migration rewrote every row of is no uncounted write of a later one', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_upper.sql',
      '-- schemata:force\nUPDATE workspace.items SET label = upper(label);\n',
    );
    // A widening: the forecast traces the table, and the measurement looks at it again.
    writeFile(
      cwd,
      'data/004_wider.sql',
      'ALTER TABLE workspace.items ALTER COLUMN label TYPE varchar(80);\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'], singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(['APPLE', 'BANANA', 'CHERRY']);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
  });

  it('with the counters off, a write that keeps rows it did not write applies', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_fix.sql',
      "SET LOCAL track_counts = off;\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items WHERE id = 1'; EXECUTE '' || 'UPDATE workspace.items SET label = ''kiwi'' WHERE id = 2'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(['cherry', 'kiwi']);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('a role that may not turn it on is told what to run as a superuser; run as typed, the migration applies', async () => {
    const { url, cwd } = await setUp();
    const database = databaseName(url);
    const role = `deployer_${database}`;
    await query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD 'deploy-pw';
       GRANT USAGE, CREATE ON SCHEMA workspace, schemata TO ${role};
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemata TO ${role};
       GRANT USAGE ON ALL SEQUENCES IN SCHEMA schemata TO ${role};
       GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA schemata TO ${role};
       ALTER ROLE ${role} IN DATABASE ${database} SET track_counts = off`,
    );
    const deployer = new URL(url);
    deployer.username = role;
    deployer.password = 'deploy-pw';
    const env = { PRIMARY_DATABASE_URL: deployer.toString() };
    writeFile(cwd, 'data/003_notes.sql', 'CREATE TABLE workspace.notes (id int);\n');
    const refused = await migrate({ cwd, env, sets: ['data'] });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.error?.message).toContain(
      `track_counts is off for role ${role} on database ${database}`,
    );
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    const hint = refused.error?.hint ?? '';
    const sql =
      /^As a superuser, turn it on for that role there: (ALTER ROLE .*?); then run again: /.exec(
        hint,
      )?.[1];
    expect(sql).toBe(`ALTER ROLE ${role} IN DATABASE ${database} SET track_counts = on`);
    await query(url, sql!);
    const applied = await migrate({ cwd, env, sets: ['data'] });
    expect(applied.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});

describe('a type change that converts nothing runs without --force', () => {
  // citext in a schema of its own, off the database's search_path: each spelling must find it as PostgreSQL does.
  const CITEXT = {
    'data/001_schemas.sql':
      'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\nCREATE SCHEMA IF NOT EXISTS ext;\nCREATE EXTENSION IF NOT EXISTS citext SCHEMA ext;\n',
    'data/002_tables.sql': [
      'CREATE TABLE workspace.users (id int PRIMARY KEY, email text NOT NULL, code varchar(20));',
      'CREATE TABLE workspace.events (id int, email text) PARTITION BY RANGE (id);',
      'CREATE TABLE workspace.events_1 PARTITION OF workspace.events FOR VALUES FROM (0) TO (10);',
      'CREATE TABLE workspace.events_2 PARTITION OF workspace.events FOR VALUES FROM (10) TO (20);',
      'CREATE TABLE workspace.base (id int, email text);',
      'CREATE TABLE workspace.child () INHERITS (workspace.base);',
      '',
    ].join('\n'),
  };
  const ROWS = `INSERT INTO workspace.users VALUES (1, 'Ann@Example.org', 'a1'), (2, 'bob@example.org', 'b2');
     INSERT INTO workspace.events VALUES (1, 'One@x.io'), (11, 'Eleven@x.io');
     INSERT INTO workspace.base VALUES (1, 'Base@x.io'); INSERT INTO workspace.child VALUES (2, 'Child@x.io');`;
  const emails = async (url: string, table: string) =>
    (await query<{ email: string }>(url, `SELECT email::text FROM ${table} ORDER BY id`)).map(
      (r) => r.email,
    );
  const typeOf = async (url: string, table: string, column: string) =>
    (
      await query<{ type: string }>(
        url,
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attname = '${column}'`,
      )
    )[0]!.type;

  it.each([
    ['qualified', 'ALTER TABLE workspace.users ALTER COLUMN email TYPE ext.citext;\n'],
    [
      'as Prisma writes it',
      'ALTER TABLE "workspace"."users" ALTER COLUMN "email" SET DATA TYPE "ext"."citext";\n',
    ],
    [
      "through the file's search_path",
      'SET search_path = workspace, ext;\nALTER TABLE users ALTER COLUMN email TYPE citext;\n',
    ],
    [
      'through set_config local to the transaction',
      "SELECT pg_catalog.set_config('search_path', 'ext', true);\nALTER TABLE workspace.users ALTER COLUMN email TYPE citext;\n",
    ],
    [
      'in dynamic SQL, which only the measurement sees',
      "DO $$ BEGIN EXECUTE format('ALTER TABLE workspace.%I ALTER COLUMN email TYPE ext.citext', 'users'); END $$;\n",
    ],
    [
      'in a file with its own BEGIN ... COMMIT',
      'BEGIN;\nALTER TABLE workspace.users ALTER COLUMN email TYPE ext.citext;\nCOMMIT;\n',
    ],
    [
      'in a -- schemata:no-transaction file',
      '-- schemata:no-transaction\nALTER TABLE workspace.users ALTER COLUMN email TYPE ext.citext;\n',
    ],
  ])('text to citext, %s: nothing is rewritten, every value kept', async (_how, sql) => {
    const { url, cwd, env } = await appliedDataSet(CITEXT, ROWS);
    writeFile(cwd, 'data/003_citext.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(await typeOf(url, 'workspace.users', 'email')).toBe('ext.citext');
    expect(await emails(url, 'workspace.users')).toEqual(['Ann@Example.org', 'bob@example.org']);
  });

  it.each([
    ['a partitioned table', 'workspace.events', ['One@x.io', 'Eleven@x.io']],
    ['an inheritance parent', 'workspace.base', ['Base@x.io', 'Child@x.io']],
  ])('on %s, plainly and in dynamic SQL', async (_what, table, kept) => {
    for (const sql of [
      `ALTER TABLE ${table} ALTER COLUMN email TYPE ext.citext;\n`,
      `DO $$ BEGIN EXECUTE '' || 'ALTER TABLE ${table} ALTER COLUMN email TYPE ext.citext'; END $$;\n`,
    ]) {
      const { url, cwd, env } = await appliedDataSet(CITEXT, ROWS);
      writeFile(cwd, 'data/003_citext.sql', sql);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.error).toBeUndefined();
      expect(await emails(url, table)).toEqual(kept);
      expect(await typeOf(url, table, 'email')).toBe('ext.citext');
    }
  });

  it('varchar(20) to citext, by a cast citext declares without a function', async () => {
    const { url, cwd, env } = await appliedDataSet(CITEXT, ROWS);
    writeFile(
      cwd,
      'data/003_code.sql',
      'ALTER TABLE workspace.users ALTER COLUMN code TYPE ext.citext;\n',
    );
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    expect(await query(url, 'SELECT code::text FROM workspace.users ORDER BY id')).toEqual([
      { code: 'a1' },
      { code: 'b2' },
    ]);
  });

  it.each([
    [
      'a USING that computes, refused before the run',
      'ALTER TABLE workspace.users ALTER COLUMN email TYPE ext.citext USING lower(email);\n',
      'its column is text and workspace.users holds 2 rows',
    ],
    [
      'a USING that computes in dynamic SQL, caught by the measurement',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.users ALTER COLUMN email TYPE ext.citext USING lower(email)'; END $$;\n",
      'column email of table workspace.users (2 rows) changed type from text to ext.citext',
    ],
    [
      'a USING on a partitioned table in dynamic SQL: its partitions judged',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.events ALTER COLUMN email TYPE ext.citext USING lower(email)'; END $$;\n",
      'column email of table workspace.events_1 (1 row) changed type from text to ext.citext',
    ],
    [
      // A rewrite for another reason in the same migration cannot be told from a conversion: judged as one.
      'the same change in a migration that rewrites the table',
      "ALTER TABLE workspace.users ALTER COLUMN email TYPE ext.citext;\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.users ADD COLUMN token float8 DEFAULT random()'; END $$;\n",
      'column email of table workspace.users (2 rows) changed type from text to ext.citext',
    ],
  ])('%s', async (_what, sql, words) => {
    const { url, cwd, env } = await appliedDataSet(CITEXT, ROWS);
    writeFile(cwd, 'data/003_citext.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(words);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(await typeOf(url, 'workspace.users', 'email')).toBe('text');
    expect(await emails(url, 'workspace.users')).toEqual(['Ann@Example.org', 'bob@example.org']);
  });
});

describe('a widening is measured: its values are those it gives', () => {
  const PRICES = {
    'data/001_schemas.sql':
      'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
    'data/002_tables.sql':
      'CREATE TABLE workspace.prices (id int, amount numeric(10,2), ratio real, label varchar(20));\n',
  };
  const ROWS =
    "INSERT INTO workspace.prices VALUES (1, 1.25, 1.1, 'one'), (2, 2.5, 0.3, NULL), (3, NULL, NULL, 'three');";
  const prices = async (url: string) =>
    query(url, 'SELECT id, amount::text, ratio::text, label FROM workspace.prices ORDER BY 1');

  it.each([
    [
      'more numeric digits on both sides of the point (its text changes: 1.25 is 1.2500)',
      'ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4);\n',
    ],
    [
      'real to double precision',
      'ALTER TABLE workspace.prices ALTER COLUMN ratio TYPE double precision;\n',
    ],
    [
      'int to double precision',
      'ALTER TABLE workspace.prices ALTER COLUMN id TYPE double precision;\n',
    ],
    [
      'int to bigint, the column renamed after',
      'ALTER TABLE workspace.prices ALTER COLUMN id TYPE bigint;\nALTER TABLE workspace.prices RENAME COLUMN id TO price_id;\n',
    ],
    [
      'a longer varchar with a USING that casts to it',
      'ALTER TABLE workspace.prices ALTER COLUMN label TYPE varchar(80) USING label::text::varchar(80);\n',
    ],
    [
      'in a DO block that COMMITs, outside any transaction',
      'DO $$ BEGIN ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4); COMMIT; END $$;\n',
    ],
  ])('%s runs without --force', async (_what, sql) => {
    const { url, cwd, env } = await appliedDataSet(PRICES, ROWS);
    writeFile(cwd, 'data/003_widen.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(
      (await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM workspace.prices'))[0]!.n,
    ).toBe(3);
  });

  it.each([
    [
      'a widening, then the column updated',
      'ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4);\nUPDATE workspace.prices SET amount = amount * 2 WHERE id = 1;\n',
      'its values are not those the widening gives: another statement of the migration changed them (an UPDATE, or dynamic SQL)',
    ],
    [
      'a widening, then the values cut by dynamic SQL to the same type',
      "ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4);\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4) USING round(amount)'; END $$;\n",
      'column amount of table workspace.prices (3 rows) changed type from numeric(10,2) to numeric(14,4)',
    ],
    [
      "a widening, then the values cut by dynamic SQL, in the run's one transaction",
      "ALTER TABLE workspace.prices ALTER COLUMN ratio TYPE double precision;\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.prices ALTER COLUMN ratio TYPE double precision USING 0'; END $$;\n",
      'column ratio of table workspace.prices (3 rows) changed type from real to double precision',
    ],
  ])('%s: refused, the values kept', async (what, sql, words) => {
    const { url, cwd, env } = await appliedDataSet(PRICES, ROWS);
    const before = await prices(url);
    writeFile(cwd, 'data/003_widen.sql', sql);
    const report = await migrateAsNamed(what, cwd, env);
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(words);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(await prices(url)).toEqual(before);
  });

  it("where the role may not create schemata's functions (the measurement goes in each batch): the same", async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: await roleWithoutFunctions(url, 'widener') };
    const cwd = makeProject(PRICES);
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    await query(url, ROWS);
    const before = await prices(url);
    writeFile(
      cwd,
      'data/003_widen.sql',
      "ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4);\nDO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4) USING 0'; END $$;\n",
    );
    const refused = await migrate({ cwd, env, sets: ['data'] });
    expect(refused.exitCode).toBe(4);
    expect(refused.error?.message).toContain(
      'column amount of table workspace.prices (3 rows) changed type',
    );
    expect(await prices(url)).toEqual(before);
    writeFile(
      cwd,
      'data/003_widen.sql',
      'ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4);\n',
    );
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(
      (
        await query<{ fn: string | null }>(
          url,
          // By its name alone: no version of it, whatever its arguments.
          `SELECT to_regproc('${FUNCTIONS.measure_before}')::text AS fn`,
        )
      )[0]!.fn,
    ).toBeNull();
  });

  it('a DO block that COMMITs, widens, then cuts the values by dynamic SQL: said after it committed, exit 4', async () => {
    const { url, cwd, env } = await appliedDataSet(PRICES, ROWS);
    writeFile(
      cwd,
      'data/003_widen.sql',
      "DO $$ BEGIN ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4); EXECUTE '' || 'ALTER TABLE workspace.prices ALTER COLUMN amount TYPE numeric(14,4) USING 0'; COMMIT; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(
      'column amount of table workspace.prices (3 rows) changed type from numeric(10,2) to numeric(14,4)',
    );
    // Committed by the block itself: recorded as failed (dirty), not applied.
    expect(
      await query(
        url,
        "SELECT event FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
      ),
    ).toEqual([{ event: 'failed' }]);
  });
});

describe("an enum's values go on as their labels", () => {
  const ROLES = {
    'data/001_schemas.sql':
      'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
    'data/002_users.sql': [
      `CREATE TYPE workspace."Role" AS ENUM ('USER', 'ADMIN', 'GUEST');`,
      `CREATE TABLE workspace.users (id int PRIMARY KEY, role workspace."Role" NOT NULL DEFAULT 'USER');`,
      '',
    ].join('\n'),
  };
  const ROWS = "INSERT INTO workspace.users VALUES (1, 'USER'), (2, 'ADMIN');";
  // How Prisma drops an enum's value: a new type, the column cast through text, the names swapped.
  const prisma = (using: string, own = true) =>
    [
      ...(own ? ['BEGIN;'] : []),
      `CREATE TYPE "workspace"."Role_new" AS ENUM ('USER', 'ADMIN');`,
      `ALTER TABLE "workspace"."users" ALTER COLUMN "role" DROP DEFAULT;`,
      `ALTER TABLE "workspace"."users" ALTER COLUMN "role" TYPE "workspace"."Role_new" USING (${using});`,
      `ALTER TYPE "workspace"."Role" RENAME TO "Role_old";`,
      `ALTER TYPE "workspace"."Role_new" RENAME TO "Role";`,
      `DROP TYPE "workspace"."Role_old";`,
      `ALTER TABLE "workspace"."users" ALTER COLUMN "role" SET DEFAULT 'USER';`,
      ...(own ? ['COMMIT;'] : []),
      '',
    ].join('\n');
  const roles = async (url: string) =>
    query(
      url,
      'SELECT id, role::text, pg_typeof(role)::text AS type FROM workspace.users ORDER BY id',
    );

  it.each([
    [
      'as Prisma writes it, with its own BEGIN ... COMMIT',
      prisma('"role"::text::"workspace"."Role_new"'),
    ],
    ["in schemata's transaction", prisma('"role"::text::"workspace"."Role_new"', false)],
    [
      'to text',
      'ALTER TABLE workspace.users ALTER COLUMN role DROP DEFAULT;\nALTER TABLE workspace.users ALTER COLUMN role TYPE text;\n',
    ],
  ])('dropping a value no row holds, %s, runs without --force', async (_how, sql) => {
    const { url, cwd, env } = await appliedDataSet(ROLES, ROWS);
    writeFile(cwd, 'data/003_roles.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect((await roles(url)).map((r) => r.role)).toEqual(['USER', 'ADMIN']);
  });

  it('a value a row holds stops the change in PostgreSQL: nothing lost, nothing applied', async () => {
    const { url, cwd, env } = await appliedDataSet(
      ROLES,
      `${ROWS} INSERT INTO workspace.users VALUES (3, 'GUEST');`,
    );
    writeFile(cwd, 'data/003_roles.sql', prisma('"role"::text::"workspace"."Role_new"', false));
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error?.message).toContain('invalid input value for enum');
    expect((await roles(url)).map((r) => r.role)).toEqual(['USER', 'ADMIN', 'GUEST']);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it.each([
    [
      'a USING that maps labels, refused before the run',
      prisma(
        `CASE "role"::text WHEN 'GUEST' THEN 'USER' ELSE "role"::text END::"workspace"."Role_new"`,
        false,
      ),
      'workspace.users holds 2 rows',
    ],
    [
      'the labels changed again by dynamic SQL, caught by the measurement',
      `${prisma('"role"::text::"workspace"."Role_new"', false)}DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.users SET role = ''USER'''; EXECUTE '' || 'ALTER TABLE workspace.users ALTER COLUMN role TYPE text USING ''x'''; END $$;\n`,
      'column role of table workspace.users (2 rows) changed type',
    ],
  ])('%s', async (_what, sql, words) => {
    const { url, cwd, env } = await appliedDataSet(ROLES, ROWS);
    const before = await roles(url);
    writeFile(cwd, 'data/003_roles.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(words);
    expect(await roles(url)).toEqual(before);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });
});

/*
 * SPEC §5: an UPDATE without a WHERE that limits it destroys data, however
 * it is spelled. The forecast refuses what it reads; an UPDATE in text it
 * cannot read (built by dynamic SQL, in a procedure or a trigger's
 * function) is measured: every row the table held updated, and a column
 * that held data holding other values now, is refused. Every case reads
 * the values from the server afterwards.
 */
describe('an UPDATE of every row, in code the forecast cannot read', () => {
  const refusedWith = (table: string, rows: string, columns: string) =>
    `table ${table} held ${rows}, and this migration updated every one of them and changed the values of column ${columns}, as an UPDATE without a WHERE that limits it does`;
  const snapshot = async (url: string) =>
    query(
      url,
      `SELECT 'items' AS t, id, label AS v FROM workspace.items
       UNION ALL SELECT 'events', id, at::text FROM workspace.events
       UNION ALL SELECT 'base', id, note FROM workspace.base ORDER BY 1, 2`,
    );

  it.each([
    [
      'dynamic SQL in a DO block',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'dynamic SQL whose WHERE matches every row',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = upper(label) WHERE id > 0'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'a PL/pgSQL procedure that builds its text, through CALL',
      "CREATE PROCEDURE workspace.blank(t text) LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('UPDATE workspace.%I SET label = %L', t, '?'); END $$;\nCALL workspace.blank('items');\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'a PL/pgSQL function that builds its text, through SELECT, two columns changed',
      "CREATE FUNCTION workspace.shift(t text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('UPDATE workspace.%I SET id = id + 100, label = label || %L', t, '!'); END $$;\nSELECT workspace.shift('items');\n",
      refusedWith('workspace.items', '3 rows', 'id, label'),
    ],
    [
      'INSERT ... ON CONFLICT DO UPDATE of every row, in dynamic SQL',
      "DO $$ BEGIN EXECUTE '' || 'INSERT INTO workspace.items SELECT id, NULL FROM workspace.items ON CONFLICT (id) DO UPDATE SET label = excluded.label'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'a partitioned table in dynamic SQL (its partition judged as itself)',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.events SET id = NULL'; END $$;\n",
      refusedWith('workspace.events_2025', '2 rows', 'id'),
    ],
    [
      'an inheritance parent in dynamic SQL (its child judged as itself)',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.base SET note = NULL'; END $$;\n",
      refusedWith('workspace.child', '1 row', 'note'),
    ],
    [
      'a -- schemata:no-transaction file',
      "-- schemata:no-transaction\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'a file with its own BEGIN ... COMMIT block',
      "BEGIN;\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\nCOMMIT;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      "the run's one transaction (--single-transaction)",
      "CREATE TABLE IF NOT EXISTS workspace.made_first (id int);\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'a readable UPDATE of one column whose WHERE limits it, and dynamic SQL that wipes another column of the table',
      "UPDATE workspace.items SET id = id + 100 WHERE id > 0;\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'the same in one PL/pgSQL function the forecast reads, through SELECT',
      "CREATE FUNCTION workspace.renumber() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE items SET id = id + 100 WHERE id > 0; EXECUTE 'UPDATE workspace.items SET label = ' || 'NULL'; END $$ SET search_path = workspace;\nSELECT workspace.renumber();\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
    [
      'an upsert the forecast reads, and dynamic SQL that wipes another column',
      "INSERT INTO workspace.items SELECT id, 'x' FROM workspace.items ON CONFLICT (id) DO UPDATE SET id = excluded.id + 100;\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\n",
      refusedWith('workspace.items', '3 rows', 'label'),
    ],
  ])('%s: refused, exit 4, every value kept', async (what, sql, words) => {
    const { url, cwd, env } = await setUp();
    const before = await snapshot(url);
    writeFile(cwd, 'data/003_update.sql', sql);
    const report = await migrateAsNamed(what, cwd, env);
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(words);
    expect(await snapshot(url)).toEqual(before);
    // Outside a transaction the statement is rolled back and the file left dirty (recorded as failed).
    const events = await query<{ event: string }>(
      url,
      "SELECT event FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
    );
    expect(events).toEqual(what.includes('no-transaction') ? [{ event: 'failed' }] : []);
  });

  it('a trigger of an earlier deploy that updates every row of another table by dynamic SQL, fired by an INSERT', async () => {
    const { url, cwd, env } = await setUp();
    await query(
      url,
      `CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'UPDATE workspace.' || 'items SET label = NULL'; RETURN NEW; END $$;
       CREATE TRIGGER stamp AFTER INSERT ON workspace.audit FOR EACH ROW EXECUTE FUNCTION public.stamp();`,
    );
    writeFile(cwd, 'data/003_insert.sql', 'INSERT INTO workspace.audit VALUES (2);\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error?.message).toContain(refusedWith('workspace.items', '3 rows', 'label'));
    expect(await labels(url)).toEqual(FRUIT);
    expect(await count(url, 'workspace.audit')).toBe(1);
  });

  it("where the role may not create schemata's functions (the measurement goes in each batch): the same", async () => {
    const url = await freshDatabase();
    const env = { PRIMARY_DATABASE_URL: await roleWithoutFunctions(url, 'updater') };
    const cwd = makeProject(BASE);
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    await query(
      url,
      "INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry');",
    );
    writeFile(
      cwd,
      'data/003_update.sql',
      "SELECT 1;\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\nSELECT 2;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    // The statement that did it is named: the loss is checked after each statement in a run again.
    expect(report.error?.message).toContain(
      `database/data/003_update.sql:2:1 (DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$): ${refusedWith('workspace.items', '3 rows', 'label')}`,
    );
    expect(await labels(url)).toEqual(FRUIT);
  });

  it.each([
    [
      'a backfill of a column the same migration adds',
      "ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS status text;\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET status = ''active'''; END $$;\n",
    ],
    [
      "a backfill of a new column in a file that sets DateStyle and TimeZone (a date column's text changes, its values do not)",
      "SET DateStyle = 'German';\nSET TimeZone = 'Asia/Tokyo';\nALTER TABLE workspace.events ADD COLUMN IF NOT EXISTS note text;\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.events SET note = ''x'''; END $$;\n",
    ],
    [
      'a backfill of a column that held no value, with a WHERE that matches every row',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.base SET note = ''n/a'' WHERE note IS NULL'; END $$;\n",
    ],
    [
      'an update of some rows',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = upper(label) WHERE id < 3'; END $$;\n",
    ],
    [
      'an update of every row that leaves every value as it was',
      "DO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = label'; END $$;\n",
    ],
    [
      'a plain UPDATE whose WHERE limits it, the forecast reading it (it matches every row)',
      'UPDATE workspace.items SET label = upper(label) WHERE id > 0;\n',
    ],
    [
      'a readable UPDATE whose WHERE limits it, next to dynamic SQL that updates no row of it',
      "UPDATE workspace.items SET label = upper(label) WHERE id > 0;\nDO $$ BEGIN EXECUTE '' || 'CREATE TABLE workspace.made_dynamically (id int)'; END $$;\n",
    ],
    [
      'the same where a generated column follows the column it sets',
      "UPDATE workspace.items SET label = label || '?' WHERE id > 0;\nDO $$ BEGIN EXECUTE '' || 'CREATE TABLE workspace.made_dynamically (id int)'; END $$;\n",
    ],
    [
      'the same where a row trigger assigns another column of NEW (an updated_at)',
      "UPDATE workspace.items SET label = upper(label) WHERE id > 0;\nDO $$ BEGIN EXECUTE '' || 'CREATE TABLE workspace.made_dynamically (id int)'; END $$;\n",
    ],
  ])('%s runs without --force', async (what, sql) => {
    const { url, cwd, env } = await setUp();
    if (what.includes('held no value')) await query(url, 'UPDATE workspace.child SET note = NULL');
    if (what.includes('generated column'))
      await query(
        url,
        'ALTER TABLE workspace.items ADD COLUMN shout text GENERATED ALWAYS AS (upper(label) || $$!$$) STORED',
      );
    if (what.includes('row trigger'))
      await query(
        url,
        `ALTER TABLE workspace.items ADD COLUMN touched timestamptz;
         UPDATE workspace.items SET touched = now() - interval '1 day';
         CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := now(); RETURN NEW; END $$;
         CREATE TRIGGER touch BEFORE UPDATE ON workspace.items FOR EACH ROW EXECUTE FUNCTION public.touch();`,
      );
    writeFile(cwd, 'data/003_update.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(await count(url, 'workspace.items')).toBe(3);
  });

  it('-- schemata:force lets it through: a warning naming the table, and the history event says what was lost', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_update.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE '' || 'UPDATE workspace.items SET label = NULL'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items WHERE label IS NULL')).toBe(3);
    expect(report.sets[0]!.warnings).toContain(
      `database/data/003_update.sql: measured in its transaction: ${refusedWith('workspace.items', '3 rows', 'label')}; allowed (-- schemata:force).`,
    );
    const [event] = await query<{ rows: unknown; forced: string }>(
      url,
      "SELECT effects->'rows' AS rows, effects->>'forced' AS forced FROM schemata.migrations WHERE version = '3'",
    );
    expect(event!.rows).toEqual([
      { table: 'workspace.items', inserted: 0, updated: 3, deleted: 0 },
    ]);
    expect(event!.forced).toContain(refusedWith('workspace.items', '3 rows', 'label'));
  });
});
