import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/api.js';
import { openClient, query, trackedVersions } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';

/*
 * The one session wrapper (engine/session.ts): a whole migration in
 * schemata's transaction and each transaction of a file run outside it get
 * the same measurement, lock timeout, retries and words; a failure is told
 * by the segment it happened in. Each case reads the outcome from the server.
 */

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql':
    'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);\nCREATE TABLE workspace.audit (id int PRIMARY KEY);\n',
};

async function setUp() {
  return appliedDataSet(
    BASE,
    "INSERT INTO workspace.items VALUES (1, 'apple'), (2, 'banana'), (3, 'cherry'); INSERT INTO workspace.audit VALUES (1);",
  );
}

const count = async (url: string, table: string) =>
  (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** The row counters the latest event of a version recorded (null: none recorded). */
async function recordedRows(url: string, version: string): Promise<unknown> {
  const rows = await query<{ rows: unknown }>(
    url,
    `SELECT effects -> 'rows' AS rows FROM schemata.migrations WHERE set_name = 'data' AND version = $1 ORDER BY id DESC LIMIT 1`,
    [version],
  );
  return rows[0]?.rows ?? null;
}

describe('a measured loss names the statement that lost the rows', () => {
  it.each([
    [
      'dynamic SQL in a DO block, the third of four statements',
      "CREATE TABLE workspace.first (id int);\nINSERT INTO workspace.audit VALUES (2);\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.' || 'items'; END $$;\nCREATE TABLE workspace.last (id int);\n",
      '3:1 (DO $$ BEGIN EXECUTE',
    ],
    [
      'a procedure made in the file, called second of three through dynamic SQL',
      "CREATE PROCEDURE workspace.clear() LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'TRUNCATE ' || 'workspace.items'; END $$;\nDO $$ BEGIN EXECUTE '' || 'CALL workspace.clear()'; END $$;\nCREATE TABLE workspace.last (id int);\n",
      '2:1 (DO $$ BEGIN EXECUTE',
    ],
  ])('%s', async (_name, sql, at) => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_tidy.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain(
      `data protection rolled back 003_tidy.sql at database/data/003_tidy.sql:${at}`,
    );
    expect(report.error!.message).toContain('table workspace.items held 3 rows');
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await count(url, 'workspace.audit')).toBe(1);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });
});

describe("a file outside schemata's transaction gets the same wrapper", () => {
  it('its event keeps the rows each of its transactions changed, as a migration in one transaction has them', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_backfill.sql',
      [
        '-- schemata:no-transaction',
        'INSERT INTO workspace.audit VALUES (2), (3);',
        'BEGIN;',
        'UPDATE workspace.items SET label = upper(label) WHERE id <= 3;',
        'INSERT INTO workspace.audit VALUES (4);',
        'COMMIT;',
        'CREATE INDEX CONCURRENTLY items_label_idx ON workspace.items (label);',
        '',
      ].join('\n'),
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.audit')).toBe(4);
    expect(await recordedRows(url, '3')).toEqual([
      { table: 'workspace.audit', inserted: 3, updated: 0, deleted: 0 },
      { table: 'workspace.items', inserted: 0, updated: 3, deleted: 0 },
    ]);
  });

  it("the catalog's own rows that DDL changes (pg_depend) are no rows of the migration's", async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_kind.sql',
      "CREATE TYPE workspace.kind AS ENUM ('a', 'b');\nCREATE TABLE workspace.kinds (id int, kind workspace.kind NOT NULL DEFAULT 'a');\n",
    );
    writeFile(
      cwd,
      'data/004_kind_new.sql',
      [
        'BEGIN;',
        "CREATE TYPE workspace.kind_new AS ENUM ('a', 'c');",
        'ALTER TABLE workspace.kinds ALTER COLUMN kind DROP DEFAULT;',
        'ALTER TABLE workspace.kinds ALTER COLUMN kind TYPE workspace.kind_new USING (kind::text::workspace.kind_new);',
        'ALTER TYPE workspace.kind RENAME TO kind_old;',
        'ALTER TYPE workspace.kind_new RENAME TO kind;',
        'DROP TYPE workspace.kind_old;',
        'COMMIT;',
        'CREATE INDEX kinds_by_kind ON workspace.kinds (kind);',
        '',
      ].join('\n'),
    );
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    expect(await recordedRows(url, '4')).toEqual([]);
  });

  it('a statement behind a held lock gives up, names the blocker by its pid, and the hint goes on with --repair', async () => {
    const { url, cwd, env } = await setUp();
    const holder = await openClient(url);
    const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
      .pid;
    await holder.query(
      "SET application_name = 'long-report'; BEGIN; SELECT count(*) FROM workspace.items",
    );
    writeFile(
      cwd,
      'data/003_alter.sql',
      '-- schemata:no-transaction\nCREATE TABLE IF NOT EXISTS workspace.first (id int);\nALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS note text;\n',
    );
    try {
      const report = await migrate({ cwd, env, sets: ['data'], statementLockTimeout: 0.2 });
      expect(report.exitCode).toBe(1);
      expect(report.error!.message).toContain('003_alter.sql at database/data/003_alter.sql:3:1');
      expect(report.error!.message).toContain('waited more than 0.2s for a lock, 4 times');
      expect(report.error!.message).toContain(`pid ${pid} (long-report, idle in transaction`);
      expect(report.error!.message).toContain('Already committed and kept: line 2');
      expect(report.error!.hint).toContain(`SELECT pg_terminate_backend(${pid})`);
      expect(report.error!.hint).toContain(
        'schemata migrate data --repair --statement-lock-timeout',
      );
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // The hint's command, once the report is done: the file runs again and applies.
    expect((await migrate({ cwd, env, sets: ['data'], repair: true })).error).toBeUndefined();
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});

describe("a file's own transaction characteristics are kept (SPEC §4.4)", () => {
  /** The isolation each INSERT of the file ran under, as the server recorded it. */
  const isolations = async (url: string) =>
    (await query<{ level: string }>(url, 'SELECT level FROM workspace.isolation ORDER BY id')).map(
      (r) => r.level,
    );
  const RECORD =
    "INSERT INTO workspace.isolation (level) SELECT current_setting('transaction_isolation');";

  it.each([
    [
      'BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; ... COMMIT;',
      `BEGIN;\nSET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n${RECORD}\nCOMMIT;\n`,
      ['repeatable read'],
    ],
    [
      'BEGIN ISOLATION LEVEL SERIALIZABLE; ... COMMIT;',
      `BEGIN ISOLATION LEVEL SERIALIZABLE;\n${RECORD}\nCOMMIT;\n`,
      ['serializable'],
    ],
    [
      'blocks of its own, the second with SET TRANSACTION',
      `BEGIN;\n${RECORD}\nCOMMIT;\nBEGIN;\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n${RECORD}\nCOMMIT;\n`,
      ['read committed', 'serializable'],
    ],
  ])('%s', async (_name, sql, expected) => {
    const { url, cwd, env } = await setUp();
    await query(url, 'CREATE TABLE workspace.isolation (id serial PRIMARY KEY, level text)');
    writeFile(cwd, 'data/003_isolated.sql', sql);
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await isolations(url)).toEqual(expected);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });
});

describe('the storage listing carried from one migration to the next in a session', () => {
  it('a later migration of the run that empties a table through dynamic SQL is refused', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/003_first.sql', 'CREATE TABLE workspace.first (id int);\n');
    writeFile(
      cwd,
      'data/004_empty.sql',
      "DO $$ BEGIN EXECUTE '' || 'TRUNCATE ' || 'workspace.items'; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(4);
    expect(report.error!.message).toContain('table workspace.items held 3 rows');
    expect(await count(url, 'workspace.items')).toBe(3);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2', '3']);
  });

  it('follows what an earlier migration of the run rewrote: a later one that deletes a row there runs once', async () => {
    const { url, cwd, env } = await setUp();
    await query(url, 'CREATE SEQUENCE public.runs');
    writeFile(
      cwd,
      'data/003_widen.sql',
      'ALTER TABLE workspace.items ALTER COLUMN id TYPE bigint;\n',
    );
    writeFile(
      cwd,
      'data/004_tidy.sql',
      "SELECT nextval('public.runs');\nDO $$ BEGIN EXECUTE '' || 'DELETE FROM workspace.items WHERE id = ' || 3; END $$;\n",
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.error).toBeUndefined();
    expect(await count(url, 'workspace.items')).toBe(2);
    // Run once: a stale listing would have taken the rewritten table for one replaced now, and run it again.
    expect(
      (await query<{ n: string }>(url, 'SELECT last_value::text AS n FROM public.runs'))[0]!.n,
    ).toBe('1');
  });
});

describe('a failure is told by the segment it happened in', () => {
  it("a file that breaks schemata's own record is told so, not sent to fix a statement of its", async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_meddle.sql',
      'CREATE TABLE workspace.made (id int);\nALTER TABLE schemata.migrations ADD CONSTRAINT no_more CHECK (false) NOT VALID;\n',
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain(
      "schemata's own statements around 003_meddle.sql failed in its transaction",
    );
    expect(report.error!.message).toContain('no_more');
    expect(report.error!.hint).toContain(
      'If database/data/003_meddle.sql drops or alters schema schemata or its tables, it must not',
    );
    expect(await count(url, "pg_class WHERE relname = 'made'")).toBe(0);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
  });

  it("a deferred constraint the file breaks is the file's, named at COMMIT time as its own", async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/003_orders.sql',
      [
        'CREATE TABLE workspace.orders (id int, item int REFERENCES workspace.items DEFERRABLE INITIALLY DEFERRED);',
        'INSERT INTO workspace.orders VALUES (1, 99);',
        '',
      ].join('\n'),
    );
    const report = await migrate({ cwd, env, sets: ['data'] });
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain('migration 003_orders.sql failed at');
    expect(report.error!.message).toContain('violates foreign key constraint');
    expect(report.error!.hint).toContain('Fix database/data/003_orders.sql');
    expect(await count(url, "pg_class WHERE relname = 'orders'")).toBe(0);
  });
});
