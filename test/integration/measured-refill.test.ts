import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { freshDatabase, query, trackedVersions } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * SPEC §5 measured: a table that loses every row it held while new ones are
 * written into it (DELETE of every row or TRUNCATE, then INSERT) has lost
 * its data as surely as an emptied one, whatever ran it where the forecast
 * cannot read (dynamic SQL, a function, a procedure through CALL, a trigger,
 * a PL/pgSQL block with its own subtransaction), and whatever holds the rows
 * (a partition, an inheritance child). The rows are counted from the server
 * afterwards; the changes that keep rows run without --force.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);',
    'CREATE TABLE workspace.events (id int, at date NOT NULL) PARTITION BY RANGE (at);',
    "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
    'CREATE TABLE workspace.base (id int, note text);',
    'CREATE TABLE workspace.child (extra int) INHERITS (workspace.base);',
    'CREATE TABLE workspace.audit (id int);',
    'CREATE MATERIALIZED VIEW workspace.item_count AS SELECT count(*) AS n FROM workspace.items;',
    '',
  ].join('\n'),
};

async function setUp() {
  const url = await freshDatabase();
  const cwd = makeProject(BASE);
  const env = { PRIMARY_DATABASE_URL: url };
  expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
  await query(
    url,
    `INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry');
     INSERT INTO workspace.events VALUES (1, '2025-03-01'), (2, '2025-04-01');
     INSERT INTO workspace.child VALUES (1, 'child row', 7);
     REFRESH MATERIALIZED VIEW workspace.item_count;`,
  );
  return { url, cwd, env };
}

const labels = async (url: string, table = 'workspace.items') =>
  (
    await query<{ label: string }>(url, `SELECT label FROM ${table} ORDER BY 1`).catch(
      () => [] as Array<{ label: string }>,
    )
  ).map((r) => r.label);

const FRUIT = ['apple', 'banana', 'cherry'];

describe('a table refilled with none of the rows it held', () => {
  it.each([
    [
      'dynamic SQL deletes every row, a plain INSERT follows',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.' || 'items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
    ],
    [
      'dynamic TRUNCATE, then INSERT',
      "DO $$ BEGIN EXECUTE 'TRUNC' || 'ATE workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
    ],
    [
      'a PL/pgSQL function made in the same file',
      "CREATE FUNCTION workspace.reseed() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); END $$;\nSELECT workspace.reseed();\n",
    ],
    [
      'a procedure through CALL',
      "CREATE PROCEDURE workspace.reseed() LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); END $$;\nCALL workspace.reseed();\n",
    ],
    [
      'a PL/pgSQL block with an EXCEPTION clause (a subtransaction of its own)',
      "DO $$ BEGIN BEGIN EXECUTE 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); EXCEPTION WHEN unique_violation THEN NULL; END; END $$;\n",
    ],
    [
      'every row deleted, new ones inserted and then updated',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new'), (10, 'newer');\nDO $$ BEGIN EXECUTE 'UPDATE workspace.items SET label = upper(label)'; END $$;\n",
    ],
    [
      'a -- schemata:no-transaction file',
      "-- schemata:no-transaction\nDO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); END $$;\n",
    ],
    [
      'a block of its own BEGIN ... COMMIT',
      "BEGIN;\nDO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\nCOMMIT;\n",
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
         BEGIN EXECUTE 'DELETE FROM workspace.items'; INSERT INTO workspace.items VALUES (9, 'new'); RETURN NEW; END $$;
       CREATE TRIGGER reseed AFTER INSERT ON workspace.audit FOR EACH ROW EXECUTE FUNCTION public.reseed();`,
    );
    writeFile(cwd, 'data/003_audit.sql', 'INSERT INTO workspace.audit VALUES (1);\n');
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
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.events'; EXECUTE 'DELETE FROM workspace.base'; END $$;\nINSERT INTO workspace.events VALUES (9, '2025-09-01');\nINSERT INTO workspace.child VALUES (9, 'new', 0);\n",
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
    expect(await labels(url, 'workspace.base')).toEqual([]);
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
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
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
      "-- schemata:force\nDO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
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
      'every row updated',
      "DO $$ BEGIN EXECUTE 'UPDATE workspace.items SET label = upper(label)'; END $$;\n",
      ['APPLE', 'BANANA', 'CHERRY'],
    ],
    [
      'every row upserted',
      "DO $$ BEGIN EXECUTE 'INSERT INTO workspace.items SELECT id, label || ''!'' FROM workspace.items ON CONFLICT (id) DO UPDATE SET label = excluded.label'; END $$;\n",
      ['apple!', 'banana!', 'cherry!'],
    ],
    [
      'some rows deleted, one inserted',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items WHERE id > 1'; END $$;\nINSERT INTO workspace.items VALUES (9, 'new');\n",
      ['apple', 'new'],
    ],
    [
      'some rows deleted, the others updated, new ones inserted',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items WHERE id = 1'; EXECUTE 'UPDATE workspace.items SET label = label || ''?'''; END $$;\nINSERT INTO workspace.items VALUES (8, 'fig'), (9, 'grape'), (10, 'kiwi');\n",
      ['banana?', 'cherry?', 'fig', 'grape', 'kiwi'],
    ],
    [
      'one row deleted, the others updated',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items WHERE id = 1'; EXECUTE 'UPDATE workspace.items SET label = label || ''?'''; END $$;\n",
      ['banana?', 'cherry?'],
    ],
    [
      'CLUSTER (its storage replaced, every row kept)',
      "DO $$ BEGIN EXECUTE 'CLUSTER workspace.items USING items_pkey'; END $$;\n",
      FRUIT,
    ],
    [
      'SET TABLESPACE',
      "DO $$ BEGIN EXECUTE 'ALTER TABLE workspace.items SET TABLESPACE pg_default'; END $$;\n",
      FRUIT,
    ],
    [
      'a new column with a volatile default (every row rewritten)',
      "DO $$ BEGIN EXECUTE 'ALTER TABLE workspace.items ADD COLUMN token float8 DEFAULT random()'; END $$;\n",
      FRUIT,
    ],
    [
      'SET UNLOGGED (every row rewritten)',
      "DO $$ BEGIN EXECUTE 'ALTER TABLE workspace.items SET UNLOGGED'; END $$;\n",
      FRUIT,
    ],
    [
      'a materialized view refreshed (every row written anew)',
      "INSERT INTO workspace.items VALUES (4, 'date');\nDO $$ BEGIN EXECUTE 'REFRESH MATERIALIZED VIEW workspace.item_count'; END $$;\n",
      ['apple', 'banana', 'cherry', 'date'],
    ],
  ])('%s', async (_what, sql, after) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_change.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(after);
  });

  it('--single-transaction: a forced reseed, then a migration that deletes one of the new rows', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_reseed.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE 'DELETE FROM workspace.items'; END $$;\nINSERT INTO workspace.items VALUES (8, 'fig'), (9, 'grape');\n",
    );
    writeFile(
      cwd,
      'data/004_tidy.sql',
      "DO $$ BEGIN EXECUTE 'DELETE FROM workspace.items WHERE id = 8'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'], singleTransaction: true });
    expect(report.error).toBeUndefined();
    expect(await labels(url)).toEqual(['grape']);
  });
});
