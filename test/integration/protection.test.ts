import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { freshDatabase, query, schemaExists, tableExists, trackedVersions } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';
import { loadParser } from '../../src/sql/parse.js';
import { lintFile } from '../../src/sql/lint.js';

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    'CREATE SCHEMA scratch;',
    'CREATE TABLE scratch.notes (id int);',
    'CREATE TABLE workspace.items (id int PRIMARY KEY, title text, size int);',
    'CREATE TABLE workspace.tags (item_id int REFERENCES workspace.items (id), tag text);',
    'CREATE TABLE workspace.empty (id int);',
    'CREATE MATERIALIZED VIEW workspace.item_titles AS SELECT title FROM workspace.items;',
    '',
  ].join('\n'),
};

/** A database with the base applied; `rows` puts one row into items and tags. */
async function setUp(rows: boolean) {
  const url = await freshDatabase();
  const cwd = makeProject(BASE);
  const env = { PRIMARY_DATABASE_URL: url };
  expect((await migrate({ cwd, env, sets: ['data'] })).ok).toBe(true);
  if (rows) {
    await query(
      url,
      "INSERT INTO workspace.items VALUES (1, 'a', 1); INSERT INTO workspace.tags VALUES (1, 'x'); INSERT INTO scratch.notes VALUES (1)",
    );
    await query(url, 'REFRESH MATERIALIZED VIEW workspace.item_titles');
  }
  return { url, cwd, env };
}

// `line`: where the destructive statement starts in the file (after a comment line).
const destructive: Array<{ kind: string; sql: string; holder: string; line: number }> = [
  {
    kind: 'DROP TABLE CASCADE (and the materialized view on it)',
    sql: 'DROP TABLE workspace.items CASCADE;',
    holder: 'workspace.item_titles',
    line: 2,
  },
  { kind: 'DROP SCHEMA', sql: 'DROP SCHEMA scratch CASCADE;', holder: 'scratch.notes', line: 2 },
  {
    kind: 'DROP MATERIALIZED VIEW',
    sql: 'DROP MATERIALIZED VIEW workspace.item_titles;',
    holder: 'workspace.item_titles',
    line: 2,
  },
  {
    kind: 'DROP COLUMN',
    sql: 'ALTER TABLE workspace.items DROP COLUMN size;',
    holder: 'workspace.items',
    line: 2,
  },
  {
    kind: 'ALTER COLUMN TYPE (narrowing)',
    sql: 'ALTER TABLE workspace.items ALTER COLUMN size TYPE smallint;',
    holder: 'workspace.items',
    line: 2,
  },
  {
    kind: 'TRUNCATE CASCADE (referencing table)',
    sql: 'TRUNCATE workspace.items CASCADE;',
    holder: 'workspace.tags',
    line: 2,
  },
  {
    kind: 'DELETE without WHERE (unqualified, via SET search_path)',
    sql: 'SET search_path TO workspace;\nDELETE FROM tags;',
    holder: 'workspace.tags',
    line: 3,
  },
  {
    kind: 'UPDATE without WHERE',
    sql: "UPDATE workspace.items SET title = 'b';",
    holder: 'workspace.items',
    line: 2,
  },
];

describe('data protection', () => {
  it.each(destructive)(
    '$kind on a table with rows: refused (exit 4), data intact, nothing of the run applied or tracked',
    async ({ sql, holder, line }) => {
      const { url, cwd, env } = await setUp(true);
      writeFile(cwd, 'data/003_harmless.sql', 'CREATE TABLE workspace.before_it (id int);\n');
      writeFile(cwd, 'data/004_destructive.sql', `-- a comment first\n${sql}\n`);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      const problem = report.sets[0]!.problems.find((p) => p.kind === 'refused')!;
      expect(problem.message).toContain(`database/data/004_destructive.sql:${line}:1`);
      expect(problem.message).toContain(holder);
      expect(problem.message).toContain(`${holder} holds 1 row`);
      expect(problem.hint).toContain('schemata migrate data --force');
      expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.items')).toEqual([
        { n: 1 },
      ]);
      expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.tags')).toEqual([{ n: 1 }]);
      expect(await query(url, 'SELECT count(*)::int AS n FROM scratch.notes')).toEqual([{ n: 1 }]);
      expect(await tableExists(url, 'workspace.before_it')).toBe(false);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    },
  );

  it.each(destructive)('$kind on an empty target: allowed', async ({ sql }) => {
    const { url, cwd, env } = await setUp(false);
    writeFile(cwd, 'data/003_destructive.sql', `${sql}\n`);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it.each(destructive)(
    '$kind on a table with rows: runs with --force, with a warning',
    async ({ sql }) => {
      const { url, cwd, env } = await setUp(true);
      writeFile(cwd, 'data/003_destructive.sql', `${sql}\n`);
      const report = await migrate({ cwd, env, sets: ['data'], force: true });
      expect(report.error).toBeUndefined();
      expect(report.sets[0]!.warnings.join('\n')).toContain('--force');
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    },
  );

  it('allows a destructive step on a table created earlier in the same run', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...BASE,
      'data/003_seed.sql': 'INSERT INTO workspace.empty VALUES (1);\n',
      'data/004_drop.sql': 'DROP TABLE workspace.empty;\n',
    });
    const report = await migrate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await tableExists(url, 'workspace.empty')).toBe(false);
  });

  it('refuses in a later set before anything of an earlier set is applied', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(BASE);
    const env = { PRIMARY_DATABASE_URL: url };
    await migrate({ cwd, env, sets: ['data'] });
    await query(url, "INSERT INTO workspace.items VALUES (1, 'a', 1)");
    writeFile(cwd, 'primary/001_schemas.sql', 'CREATE SCHEMA config;\nCREATE SCHEMA customer;\n');
    writeFile(cwd, 'data/003_drop.sql', 'DROP TABLE workspace.items CASCADE;\n');
    const report = await migrate({ cwd, env });
    expect(report.exitCode).toBe(4);
    expect(await schemaExists(url, 'config')).toBe(false);
    expect(await trackedVersions(url, 'primary')).toEqual([]);
  });

  it.each([
    ['TRUNCATE ... CASCADE', 'TRUNCATE workspace.a CASCADE;'],
    ['DELETE through two ON DELETE CASCADE keys', 'DELETE FROM workspace.a;'],
  ])(
    'refuses %s whose rows are two foreign keys away in a schema of no set, before anything of the run runs',
    async (_what, sql) => {
      // workspace.a ← side.b ← side.c: the set reads its own schemas; the keys lead out of them. Only c holds
      // rows where TRUNCATE empties it whatever the others hold.
      const url = await freshDatabase();
      const cwd = makeProject({
        'data/001_schemas.sql':
          'CREATE SCHEMA workspace;\nCREATE SCHEMA reference;\nCREATE SCHEMA side;\n',
        'data/002_a.sql': 'CREATE TABLE workspace.a (id int PRIMARY KEY);\n',
        'data/003_b.sql':
          'CREATE TABLE side.b (id int PRIMARY KEY, a_id int REFERENCES workspace.a ON DELETE CASCADE);\n',
        'data/004_c.sql': 'CREATE TABLE side.c (b_id int REFERENCES side.b ON DELETE CASCADE);\n',
      });
      const env = { PRIMARY_DATABASE_URL: url };
      expect((await migrate({ cwd, env, sets: ['data'] })).ok).toBe(true);
      await query(
        url,
        sql.startsWith('TRUNCATE')
          ? 'INSERT INTO side.c VALUES (NULL)'
          : 'INSERT INTO workspace.a VALUES (1); INSERT INTO side.b VALUES (1, 1); INSERT INTO side.c VALUES (1)',
      );
      writeFile(cwd, 'data/005_harmless.sql', 'CREATE TABLE workspace.before_it (id int);\n');
      writeFile(cwd, 'data/006_empty_a.sql', `${sql}\n`);
      const report = await migrate({ cwd, env, sets: ['data'] });
      expect(report.exitCode).toBe(4);
      const refused = report.sets[0]!.problems.filter((p) => p.kind === 'refused');
      expect(refused.map((p) => p.message).join('\n')).toContain('side.c holds 1 row');
      expect(await query(url, 'SELECT count(*)::int AS n FROM side.c')).toEqual([{ n: 1 }]);
      expect(await tableExists(url, 'workspace.before_it')).toBe(false);
      expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3', '4']);
    },
  );

  it('validate lists a refusal a pending migration would meet, and exits 3 as for any problem', async () => {
    const { url, cwd, env } = await setUp(true);
    writeFile(cwd, 'data/003_drop.sql', 'DROP TABLE workspace.items CASCADE;\n');
    const report = await validate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems.map((p) => p.kind)).toEqual(['refused']);
    expect(await tableExists(url, 'workspace.items')).toBe(true);
  });

  it('refuses dynamic SQL that empties a table, by the check on the server before COMMIT', async () => {
    const { url, cwd, env } = await setUp(true);
    writeFile(cwd, 'data/003_harmless.sql', 'CREATE TABLE workspace.before_it (id int);\n');
    writeFile(
      cwd,
      'data/004_dynamic.sql',
      "DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.' || 'tags'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      "data protection rolled back 004_dynamic.sql at database/data/004_dynamic.sql:1:1 (DO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.' || 'tags'; END $$): table workspace.tags held 1 row and is now empty (its rows were deleted)",
    );
    expect(report.error!.message).toContain('migrations before it in this run stay applied');
    expect(report.error!.hint).toContain('-- schemata:force');
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.tags')).toEqual([{ n: 1 }]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('checks on the server what arrived after planning', async () => {
    // The plan sees an empty table; the rows arrive while the earlier migration runs.
    const { url, cwd, env } = await setUp(false);
    writeFile(cwd, 'data/003_fill.sql', "INSERT INTO workspace.items VALUES (7, 'late', 1);\n");
    writeFile(cwd, 'data/004_drop.sql', 'DROP TABLE workspace.items CASCADE;\n');
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain('table workspace.items held 1 row and is gone');
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(await tableExists(url, 'workspace.items')).toBe(true);
  });
});

describe('migrations outside a transaction', () => {
  it('creates an index CONCURRENTLY, valid, and tracks it as applied', async () => {
    const { url, cwd, env } = await setUp(true);
    writeFile(
      cwd,
      'data/003_index.sql',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_title_idx ON workspace.items (title);\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(
      await query(
        url,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'workspace.items_title_idx'::regclass",
      ),
    ).toEqual([{ indisvalid: true }]);
    expect(
      await query(
        url,
        "SELECT event AS state FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
      ),
    ).toEqual([{ state: 'applied' }]);
  });

  it('records a migration that fails partway as failed, names what ran, and blocks the next run as dirty', async () => {
    const { url, cwd, env } = await setUp(false);
    writeFile(
      cwd,
      'data/003_two_indexes.sql',
      [
        '-- schemata:no-transaction',
        'CREATE TABLE workspace.first_part (id int);',
        'CREATE INDEX CONCURRENTLY broken_idx ON workspace.nope (id);',
        '',
      ].join('\n'),
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain('003_two_indexes.sql:3:');
    expect(report.error!.message).toContain('Already committed and kept: line 2');
    expect(report.error!.hint).toContain('schemata migrate data --repair');
    expect(await tableExists(url, 'workspace.first_part')).toBe(true);
    expect(
      await query(
        url,
        "SELECT event AS state FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id DESC LIMIT 1",
      ),
    ).toEqual([{ state: 'failed' }]);
    const next = await migrate({ cwd, env, sets: ['data'] });
    expect(next.exitCode).toBe(3);
    expect(next.sets[0]!.problems.map((p) => p.kind)).toContain('dirty');
  });

  it('refuses a file that mixes its own BEGIN/COMMIT with CONCURRENTLY', async () => {
    const { url, cwd, env } = await setUp(false);
    writeFile(
      cwd,
      'data/003_mixed.sql',
      'BEGIN;\nCREATE INDEX CONCURRENTLY i1 ON workspace.items (title);\nCOMMIT;\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems[0]!.kind).toBe('transaction-conflict');
    expect(report.sets[0]!.problems[0]!.message).toContain('CREATE INDEX CONCURRENTLY at line 2');
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it('runs, as psql would, a CONCURRENTLY before or after its own blocks (even after a ROLLBACK), and lint agrees', async () => {
    const { url, cwd, env } = await setUp(false);
    const sql =
      'BEGIN;\nCREATE TABLE workspace.tried (id int);\nROLLBACK;\nBEGIN;\nCREATE TABLE workspace.kept (id int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY i2 ON workspace.items (title);\n';
    writeFile(cwd, 'data/003_blocks.sql', sql);
    const parser = await loadParser();
    expect(lintFile(parser, sql).filter((f) => f.severity === 'error')).toEqual([]);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
    expect(await tableExists(url, 'workspace.kept')).toBe(true);
    expect(await tableExists(url, 'workspace.tried')).toBe(false);
    expect(
      await query(
        url,
        "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'workspace.i2'::regclass",
      ),
    ).toEqual([{ valid: true }]);
    // Inside a block, both refuse it.
    const inside = 'BEGIN;\nCREATE INDEX CONCURRENTLY i3 ON workspace.items (title);\nCOMMIT;\n';
    expect(lintFile(parser, inside).map((f) => f.rule)).toContain('concurrently-in-transaction');
  });
});

describe('migrate --dry-run', () => {
  it('shows the plan with verdicts and writes nothing, not even the tracking table', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(BASE);
    const catalog = () =>
      query(
        url,
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2",
      );
    const before = await catalog();
    const fresh = await migrate({
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
      sets: ['data'],
      dryRun: true,
    });
    expect(fresh.ok).toBe(true);
    expect(fresh.sets[0]!.plan!.map((m) => [m.file, m.transactional])).toEqual([
      ['001_schemas.sql', true],
      ['002_tables.sql', true],
    ]);
    expect(await catalog()).toEqual(before);
    expect(await schemaExists(url, 'schemata')).toBe(false);

    await migrate({ cwd, env: { PRIMARY_DATABASE_URL: url }, sets: ['data'] });
    await query(url, "INSERT INTO workspace.items VALUES (1, 'a', 1)");
    writeFile(
      cwd,
      'data/003_drop.sql',
      'DROP TABLE workspace.empty;\nDROP TABLE workspace.items CASCADE;\n',
    );
    writeFile(cwd, 'data/004_index.sql', 'CREATE INDEX CONCURRENTLY i2 ON workspace.tags (tag);\n');
    const planned = await migrate({
      cwd,
      env: { PRIMARY_DATABASE_URL: url },
      sets: ['data'],
      dryRun: true,
    });
    expect(planned.exitCode).toBe(4);
    expect(planned.sets[0]!.plan).toEqual([
      {
        version: '3',
        file: '003_drop.sql',
        transactional: true,
        inRunTransaction: false,
        event: 'applied',
        runs: 'all',
        // Plain DDL: the check on the server covers the two tables the plan traced.
        check: 'measured in its transaction: every table that holds rows',
        steps: [
          {
            at: 'database/data/003_drop.sql:1:1',
            step: 'DROP TABLE workspace.empty',
            target: 'workspace.empty',
            verdict: 'allowed',
            reason: 'holds no rows',
            holders: [],
          },
          {
            at: 'database/data/003_drop.sql:2:1',
            step: 'DROP TABLE workspace.items CASCADE',
            target: 'workspace.items',
            verdict: 'refused',
            reason: 'workspace.items holds 1 row',
            holders: [{ table: 'workspace.items', rows: 1, more: false }],
          },
        ],
        warnings: [],
      },
      {
        version: '4',
        file: '004_index.sql',
        transactional: false,
        inRunTransaction: false,
        event: 'applied',
        runs: 'all',
        check: 'measured in its transaction: every table that holds rows',
        steps: [],
        warnings: [],
      },
    ]);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(await tableExists(url, 'workspace.empty')).toBe(true);
  });
});
