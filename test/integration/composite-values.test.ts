import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { query, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';

/*
 * Data protection of the values a composite type holds (SPEC §5: a column
 * that holds data is not rewritten other than by a widening). Dropping an
 * attribute of a composite type, or a column of a table whose row type a
 * column elsewhere holds, keeps that column and its type and takes the
 * attribute out of every value it held: PostgreSQL refuses to change such an
 * attribute's type, but not to drop it. Each case fills one table, checks
 * the refusal names it, and reads its values back from the server.
 */

const TYPES = [
  'CREATE SCHEMA IF NOT EXISTS workspace;',
  'CREATE SCHEMA IF NOT EXISTS reference;',
  'CREATE TYPE workspace.pair AS (a int, b text);',
  'CREATE TYPE workspace.outer_pair AS (n int, inner_pair workspace.pair);',
  'CREATE DOMAIN workspace.pair_d AS workspace.pair;',
  'CREATE TYPE workspace.pair_range AS RANGE (subtype = workspace.pair);',
  'CREATE TABLE workspace.src (a int, b text);',
  '',
].join('\n');

/** Each spelling of a column whose values hold workspace.pair (or workspace.src's row type), and a value of it. */
const HOLDERS: ReadonlyArray<readonly [string, string, string]> = [
  ['the type itself', 'workspace.pair', "(1, 'x')::workspace.pair"],
  ['an array of it', 'workspace.pair[]', "ARRAY[(1, 'x')::workspace.pair]"],
  ['a domain over it', 'workspace.pair_d', "(1, 'x')::workspace.pair"],
  [
    'a composite holding it',
    'workspace.outer_pair[]',
    "ARRAY[(7, (1, 'x'))::workspace.outer_pair]",
  ],
  [
    'a range over it',
    'workspace.pair_range',
    "workspace.pair_range((1, 'a')::workspace.pair, (2, 'b')::workspace.pair)",
  ],
  [
    'a multirange over it',
    'workspace.pair_multirange',
    "workspace.pair_multirange(workspace.pair_range((1, 'a')::workspace.pair, (2, 'b')::workspace.pair))",
  ],
];

/** The data set with the types and `tables`, applied; then `rows` run as the test's own data. */
async function setUp(tables: string, rows: string) {
  const applied = await appliedDataSet(
    {
      'data/001_types.sql': TYPES,
      'data/002_tables.sql': `${tables}\n`,
    },
    rows,
  );
  return { ...applied, versions: await trackedVersions(applied.url, 'data') };
}

const valuesOf = async (url: string, table: string) =>
  (await query<{ v: string }>(url, `SELECT v::text AS v FROM ${table} ORDER BY 1`)).map((r) => r.v);

describe('data protection: the values a composite type holds', () => {
  it.each(HOLDERS)(
    'ALTER TYPE ... DROP ATTRIBUTE is refused before the run where a column holds %s',
    async (_name, type, value) => {
      const { url, cwd, env, versions } = await setUp(
        `CREATE TABLE workspace.holder (id int, v ${type});`,
        `INSERT INTO workspace.holder VALUES (1, ${value})`,
      );
      const before = await valuesOf(url, 'workspace.holder');
      writeFile(cwd, 'data/003_drop.sql', 'ALTER TYPE workspace.pair DROP ATTRIBUTE b;\n');
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      expect(report.error!.message).toContain(
        'database/data/003_drop.sql:1:1: ALTER TYPE workspace.pair DROP ATTRIBUTE b would destroy data: workspace.holder holds 1 row in a column whose values hold workspace.pair.',
      );
      expect(report.error!.message).toContain('nothing of this run was applied');
      expect(await valuesOf(url, 'workspace.holder')).toEqual(before);
      expect(await trackedVersions(url, 'data')).toEqual(versions);
    },
  );

  it.each(HOLDERS)(
    'dropped by dynamic SQL, the measurement rolls it back where a column holds %s',
    async (_name, type, value) => {
      const { url, cwd, env, versions } = await setUp(
        `CREATE TABLE workspace.holder (id int, v ${type});`,
        `INSERT INTO workspace.holder VALUES (1, ${value})`,
      );
      const before = await valuesOf(url, 'workspace.holder');
      writeFile(
        cwd,
        'data/003_drop.sql',
        "DO $$ BEGIN EXECUTE 'ALTER TYPE workspace.pair ' || 'DROP ATTRIBUTE b'; END $$;\n",
      );
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      expect(report.error!.message).toContain(
        'column v of table workspace.holder held data (1 row) and lost attribute b of workspace.pair from every value: the attribute was dropped from its type',
      );
      expect(await valuesOf(url, 'workspace.holder')).toEqual(before);
      expect(await trackedVersions(url, 'data')).toEqual(versions);
    },
  );

  it.each([
    [
      'a partition',
      'CREATE TABLE workspace.holder (id int, v workspace.pair) PARTITION BY RANGE (id);\nCREATE TABLE workspace.holder_1 PARTITION OF workspace.holder FOR VALUES FROM (0) TO (10);',
      'workspace.holder_1',
    ],
    [
      'an inheritance child',
      'CREATE TABLE workspace.holder (id int);\nCREATE TABLE workspace.holder_1 (v workspace.pair) INHERITS (workspace.holder);',
      'workspace.holder_1',
    ],
  ])('holds %s to the same rule, in a procedure a CALL runs', async (_name, tables, table) => {
    const { url, cwd, env, versions } = await setUp(
      tables,
      `INSERT INTO ${table} (id, v) VALUES (1, (1, 'x'))`,
    );
    const before = await valuesOf(url, table);
    writeFile(
      cwd,
      'data/003_drop.sql',
      "CREATE PROCEDURE workspace.retire_b() LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('ALTER TYPE %I.%I DROP ATTRIBUTE %I', 'workspace', 'pair', 'b'); END $$;\nCALL workspace.retire_b();\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      `(CALL workspace.retire_b()): column v of table ${table} held data (1 row) and lost attribute b of workspace.pair from every value`,
    );
    expect(await valuesOf(url, table)).toEqual(before);
    expect(await trackedVersions(url, 'data')).toEqual(versions);
  });

  it.each([
    {
      name: "DROP COLUMN of an empty table, where a column elsewhere holds the table's row type",
      table: 'reference.holder',
      type: 'workspace.src',
      value: "(1, 'x')",
      statement: 'ALTER TABLE workspace.src DROP COLUMN b',
      refused:
        'ALTER TABLE workspace.src DROP COLUMN b would destroy data: reference.holder holds 1 row in a column whose values hold workspace.src.',
      lost: 'column v of table reference.holder held data (1 row) and lost attribute b of workspace.src from every value',
      kept: '(1,x)',
    },
    {
      name: 'DROP TYPE ... CASCADE that takes an attribute of another composite',
      table: 'workspace.holder',
      type: 'workspace.outer_pair',
      value: "(7, (1, 'x'))",
      statement: 'DROP TYPE workspace.pair CASCADE',
      refused: 'DROP TYPE workspace.pair CASCADE would destroy data: workspace.holder holds 1 row.',
      lost: 'column v of table workspace.holder held data (1 row) and lost attribute inner_pair of workspace.outer_pair from every value',
      kept: '(7,"(1,x)")',
    },
  ])(
    '$name: refused before the run, and when measured',
    async ({ table, type, value, statement, refused, lost, kept }) => {
      const { url, cwd, env } = await setUp(
        `CREATE TABLE ${table} (id int, v ${type});`,
        `INSERT INTO ${table} VALUES (1, ${value})`,
      );
      writeFile(cwd, 'data/003_drop.sql', `${statement};\n`);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      expect(report.error!.message).toContain(refused);
      // Split so that no reading of the text sees the statement: only the measurement can.
      const [head, tail] = [
        statement.slice(0, statement.lastIndexOf(' ')),
        statement.slice(statement.lastIndexOf(' ') + 1),
      ];
      writeFile(cwd, 'data/003_drop.sql', `DO $$ BEGIN EXECUTE '${head} ' || '${tail}'; END $$;\n`);
      const measured = await migrate({ cwd, env, sets: ['data'] });
      expect(measured.exitCode).toBe(4);
      expect(measured.error!.message).toContain(lost);
      expect(await valuesOf(url, table)).toEqual([kept]);
    },
  );

  it.each([
    ['a -- schemata:no-transaction file', '-- schemata:no-transaction\n', false],
    ["the run's one transaction (--single-transaction)", '', true],
  ])('measures %s the same way', async (_name, head, singleTransaction) => {
    const { url, cwd, env } = await setUp(
      'CREATE TABLE workspace.holder (id int, v workspace.pair);',
      "INSERT INTO workspace.holder VALUES (1, (1, 'x'))",
    );
    writeFile(cwd, 'data/003_other.sql', 'CREATE TABLE workspace.more (id int);\n');
    writeFile(
      cwd,
      'data/004_drop.sql',
      `${head}DO $$ BEGIN EXECUTE 'ALTER TYPE workspace.pair ' || 'DROP ATTRIBUTE b'; END $$;\n`,
    );
    const report = await migrate({ cwd, env, sets: ['data'], singleTransaction });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'column v of table workspace.holder held data (1 row) and lost attribute b of workspace.pair from every value',
    );
    expect(await valuesOf(url, 'workspace.holder')).toEqual(['(1,x)']);
  });

  it('a typed table loses the column with ALTER TYPE ... DROP ATTRIBUTE ... CASCADE: refused before the run', async () => {
    const { url, cwd, env } = await setUp(
      'CREATE TABLE workspace.typed OF workspace.pair;',
      "INSERT INTO workspace.typed VALUES (1, 'x')",
    );
    writeFile(cwd, 'data/003_drop.sql', 'ALTER TYPE workspace.pair DROP ATTRIBUTE b CASCADE;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      'ALTER TYPE workspace.pair DROP ATTRIBUTE b CASCADE would destroy data: workspace.typed holds 1 row',
    );
    expect(await query(url, 'SELECT a, b FROM workspace.typed')).toEqual([{ a: 1, b: 'x' }]);
  });

  it('allows the drop where no table holding rows holds the type, and keeps every other change of the type', async () => {
    const { url, cwd, env } = await setUp(
      'CREATE TABLE workspace.holder (id int, v workspace.pair);\nCREATE TABLE workspace.other (id int);',
      'INSERT INTO workspace.other VALUES (1)',
    );
    writeFile(
      cwd,
      'data/003_change.sql',
      'ALTER TYPE workspace.pair ADD ATTRIBUTE c int;\nALTER TYPE workspace.pair RENAME ATTRIBUTE a TO first;\nALTER TYPE workspace.pair DROP ATTRIBUTE b;\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(
      await query(
        url,
        "SELECT attname FROM pg_attribute WHERE attrelid = 'workspace.pair'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      ),
    ).toEqual([{ attname: 'first' }, { attname: 'c' }]);
  });

  it('a forced drop applies and says what was lost, measured in its transaction', async () => {
    const { url, cwd, env } = await setUp(
      'CREATE TABLE workspace.holder (id int, v workspace.pair);',
      "INSERT INTO workspace.holder VALUES (1, (1, 'x'))",
    );
    writeFile(
      cwd,
      'data/003_drop.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE 'ALTER TYPE workspace.pair ' || 'DROP ATTRIBUTE b'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(report.sets[0]!.warnings.join('\n')).toContain(
      'column v of table workspace.holder held data (1 row) and lost attribute b of workspace.pair from every value',
    );
    expect(await valuesOf(url, 'workspace.holder')).toEqual(['(1)']);
  });
});
