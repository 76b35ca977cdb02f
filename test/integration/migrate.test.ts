import { rmSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { migrate, status, validate } from '../../src/api.js';
import {
  databaseName,
  freshDatabase,
  openClient,
  query,
  schemaExists,
  tableExists,
  trackedVersions,
} from '../support/db.js';
import { makeProject, SMALL_SETS, writeFile } from '../support/project.js';

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

describe('migrate, single mode', () => {
  it('applies both sets on a fresh database, records each migration, and a rerun is a no-op', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const first = await migrate({ cwd, env: single(url) });
    expect(first).toMatchObject({ command: 'migrate', mode: 'single', ok: true, exitCode: 0 });
    expect(first.sets.map((s) => [s.name, s.applied.map((a) => a.file)])).toEqual([
      ['primary', ['001_schemas.sql', '002_tables.sql']],
      ['data', ['001_schemas.sql', '002_tables.sql']],
    ]);
    expect(await trackedVersions(url, 'primary')).toEqual(['1', '2']);
    expect(await trackedVersions(url, 'data')).toEqual(['1', '2']);
    expect(await tableExists(url, 'workspace.items')).toBe(true);
    const rows = await query<{ checksum: string; state: string; duration_ms: number }>(
      url,
      'SELECT checksum, event AS state, duration_ms FROM schemata.migrations',
    );
    expect(
      rows.every(
        (r) => /^[0-9a-f]{64}$/.test(r.checksum) && r.state === 'applied' && r.duration_ms >= 0,
      ),
    ).toBe(true);

    const second = await migrate({ cwd, env: single(url) });
    expect(second.ok).toBe(true);
    expect(second.sets.flatMap((s) => s.applied)).toEqual([]);
    expect(second.sets.flatMap((s) => s.pending)).toEqual([]);
  });

  it('runs only the named sets', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const report = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(report.sets.map((s) => s.name)).toEqual(['data']);
    expect(await schemaExists(url, 'workspace')).toBe(true);
    expect(await schemaExists(url, 'config')).toBe(false);
  });

  it('handles dollar quotes, DO blocks, comments, a file of its own BEGIN/COMMIT and no trailing newline', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config; CREATE SCHEMA IF NOT EXISTS customer;',
      'primary/002_tricky.sql': [
        '/* a block comment; with a semicolon */',
        'BEGIN;',
        "CREATE FUNCTION config.semi() RETURNS text LANGUAGE sql AS $fn$ SELECT ';'::text $fn$;",
        "DO $$ BEGIN RAISE NOTICE 'done; really'; END $$;",
        "CREATE TABLE config.t (x text DEFAULT E'it\\'s');",
        '-- the end; no newline follows',
        'COMMIT',
      ].join('\n'),
    });
    const report = await migrate({ cwd, env: single(url), sets: ['primary'] });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(await query(url, 'SELECT config.semi() AS s')).toEqual([{ s: ';' }]);
    expect(await tableExists(url, 'config.t')).toBe(true);
    expect(await trackedVersions(url, 'primary')).toEqual(['1', '2']);
  });

  it('stops at a failing migration: names file, line and statement, keeps earlier ones, runs no later one, resumes after the fix', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      'primary/002_bad.sql':
        'CREATE TABLE config.a (x int);\n\nINSERT INTO config.a VALUES (1);\nINSERT INTO config.a VALUES (1 / 0);\n',
      'primary/003_later.sql': 'CREATE TABLE config.later (x int);\n',
    });
    const report = await migrate({ cwd, env: single(url), sets: ['primary'] });
    expect(report).toMatchObject({ ok: false, exitCode: 1 });
    const problem = report.sets[0]!.problems[0]!;
    expect(problem.kind).toBe('migration-failed');
    expect(problem.message).toContain('002_bad.sql:4:1');
    expect(problem.message).toContain('division by zero');
    expect(problem.message).toContain('INSERT INTO config.a VALUES (1 / 0)');
    expect(report.sets[0]!.applied.map((a) => a.file)).toEqual(['001_schemas.sql']);
    // The failed migration rolled back with its tracking row; the later one never ran.
    expect(await trackedVersions(url, 'primary')).toEqual(['1']);
    expect(await tableExists(url, 'config.a')).toBe(false);
    expect(await tableExists(url, 'config.later')).toBe(false);

    writeFile(
      cwd,
      'primary/002_bad.sql',
      'CREATE TABLE config.a (x int);\n\nINSERT INTO config.a VALUES (1);\n',
    );
    const rerun = await migrate({ cwd, env: single(url), sets: ['primary'] });
    expect(rerun.ok).toBe(true);
    expect(rerun.sets[0]!.applied.map((a) => a.file)).toEqual(['002_bad.sql', '003_later.sql']);
    expect(await trackedVersions(url, 'primary')).toEqual(['1', '2', '3']);
  });

  it('maps an error position from PostgreSQL back to the line and column in the file', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      'primary/002_missing.sql':
        '-- ü comment\nCREATE TABLE config.a (x int);\nSELECT nope FROM config.a;\n',
    });
    const report = await migrate({ cwd, env: single(url), sets: ['primary'] });
    expect(report.exitCode).toBe(1);
    expect(report.error!.message).toContain('002_missing.sql:3:8');
    expect(report.error!.message).toContain('column "nope" does not exist');
  });

  it('refuses a pending file that does not parse before applying anything (exit 3)', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'primary/001_schemas.sql':
        'CREATE SCHEMA IF NOT EXISTS config;\nCREATE SCHEMA IF NOT EXISTS customer;\n',
      'primary/002_typo.sql': 'CREATE TABLE config.a (x int);\nCREAT TABLE config.b (y int);\n',
    });
    const report = await migrate({ cwd, env: single(url), sets: ['primary'] });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems[0]).toMatchObject({ kind: 'syntax' });
    expect(report.sets[0]!.problems[0]!.message).toContain('002_typo.sql:2:1');
    expect(await schemaExists(url, 'config')).toBe(false);
  });

  it('waits for the lock and gives up with exit 5 naming the holder', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const holder = await openClient(url);
    try {
      const { rows } = await holder.query<{ pid: number }>(
        "SELECT pg_backend_pid() AS pid, pg_advisory_lock(x'73636865'::int, x'6d617461'::int)",
      );
      const report = await migrate({ cwd, env: single(url), lockTimeout: 0.5 });
      expect(report.exitCode).toBe(5);
      expect(report.error!.message).toContain(`pid ${rows[0]!.pid}`);
      expect(report.error!.message).toContain('gave up after 0.5s');
      expect(await schemaExists(url, 'config')).toBe(false);
    } finally {
      await holder.end();
    }
    // A lock dies with its session: the next run proceeds.
    expect((await migrate({ cwd, env: single(url) })).ok).toBe(true);
  });
});

describe('migrate, split mode', () => {
  it("runs each set on its own server and keeps each database's tracking to its sets", async () => {
    const primary = await freshDatabase('primary');
    const data = await freshDatabase('data');
    const cwd = makeProject(SMALL_SETS);
    const report = await migrate({
      cwd,
      env: { SPLIT_DB_MODE: 'true', PRIMARY_DATABASE_URL: primary, DATA_DATABASE_URL: data },
    });
    expect(report).toMatchObject({ mode: 'split', ok: true });
    expect(await schemaExists(primary, 'config')).toBe(true);
    expect(await schemaExists(primary, 'workspace')).toBe(false);
    expect(await schemaExists(data, 'workspace')).toBe(true);
    expect(await schemaExists(data, 'config')).toBe(false);
    expect(await trackedVersions(primary, 'data')).toEqual([]);
    expect(await trackedVersions(data, 'primary')).toEqual([]);
    expect(await trackedVersions(data, 'data')).toEqual(['1', '2']);
    expect(report.sets[0]!.target).not.toEqual(report.sets[1]!.target);
  });

  it('gives up on a database whose run lock another run holds once, not once for planning and again for its set', async () => {
    const primary = await freshDatabase('primary');
    const data = await freshDatabase('data');
    const cwd = makeProject(SMALL_SETS);
    const env = { SPLIT_DB_MODE: 'true', PRIMARY_DATABASE_URL: primary, DATA_DATABASE_URL: data };
    const holder = await openClient(data);
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await holder.query("SELECT pg_advisory_lock(x'73636865'::int, x'6d617461'::int)");
      const report = await migrate({ cwd, env, lockTimeout: 0.5 });
      expect(report.exitCode).toBe(5);
      expect(report.error!.message).toContain('gave up after 0.5s');
      // The sessions that waited for the DATA database's lock: one wait, however many sets ask.
      const waited = new Set(
        spy.mock.calls.flatMap((call, i) => {
          const text: unknown = call[0];
          const client = spy.mock.contexts[i] as pg.Client;
          return typeof text === 'string' &&
            text.includes('pg_try_advisory_xact_lock') &&
            client.database === databaseName(data)
            ? [client]
            : [];
        }),
      );
      expect(waited.size).toBe(1);
      expect(await schemaExists(primary, 'config')).toBe(false);
    } finally {
      spy.mockRestore();
      await holder.end();
    }
  });
});

describe('status and validate', () => {
  it('report applied, pending, schemas present or missing, holding data or empty', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    const before = await status({ cwd, env: single(url) });
    expect(before.ok).toBe(true);
    expect(before.sets[0]!.pending.map((p) => p.file)).toEqual([
      '001_schemas.sql',
      '002_tables.sql',
    ]);
    expect(before.sets[0]!.schemas).toEqual([
      { name: 'config', exists: false, hasData: false },
      { name: 'customer', exists: false, hasData: false },
    ]);
    // status writes nothing, not even the tracking table.
    expect(await schemaExists(url, 'schemata')).toBe(false);

    await migrate({ cwd, env: single(url) });
    await query(url, "INSERT INTO config.settings VALUES ('a', 'b')");
    const after = await status({ cwd, env: single(url) });
    expect(after.sets[0]!.applied).toHaveLength(2);
    expect(after.sets[0]!.schemas).toEqual([
      { name: 'config', exists: true, hasData: true },
      { name: 'customer', exists: true, hasData: false },
    ]);
  });

  it('validate fails with exit 3 when tracking claims migrations whose schemas are missing', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    await query(url, 'DROP SCHEMA workspace CASCADE; DROP SCHEMA reference CASCADE');
    const report = await validate({ cwd, env: single(url) });
    expect(report.exitCode).toBe(3);
    const problem = report.sets.find((s) => s.name === 'data')!.problems[0]!;
    expect(problem.kind).toBe('mismatch');
    expect(problem.message).toContain('tracking shows 2 migrations applied');
    expect(problem.message).toContain('workspace, reference');
    expect(problem.hint).toBe('schemata migrate data --repair');
    expect(report.sets.find((s) => s.name === 'primary')!.problems).toEqual([]);

    const blocked = await migrate({ cwd, env: single(url) });
    expect(blocked.exitCode).toBe(3);
  });

  // Whatever the one object an expected schema holds: a table, a view, a sequence, a function, a type or a domain.
  it.each([
    ['a table', 'CREATE TABLE workspace.items (id int)'],
    ['a view', 'CREATE VIEW workspace.items AS SELECT 1 AS id'],
    ['a sequence', 'CREATE SEQUENCE workspace.items_seq'],
    ['a function', "CREATE FUNCTION workspace.items() RETURNS int LANGUAGE sql AS 'SELECT 1'"],
    ['an enum', "CREATE TYPE workspace.mood AS ENUM ('happy')"],
    ['a domain', 'CREATE DOMAIN workspace.positive AS int CHECK (VALUE > 0)'],
  ])(
    'migrate stops on an untracked database whose schema already holds %s',
    async (_what, made) => {
      const url = await freshDatabase();
      const cwd = makeProject(SMALL_SETS);
      await query(url, `CREATE SCHEMA workspace; ${made}`);
      const report = await migrate({ cwd, env: single(url), sets: ['data'] });
      expect(report.exitCode).toBe(3);
      expect(report.sets[0]!.problems[0]).toMatchObject({
        kind: 'untracked',
        hint: expect.stringContaining('schemata baseline data') as unknown,
      });
      expect(await trackedVersions(url, 'data')).toEqual([]);
    },
  );

  it('treats an existing but empty schema as fresh', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await query(url, 'CREATE SCHEMA workspace');
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('reports a changed checksum and a missing file', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SMALL_SETS);
    await migrate({ cwd, env: single(url) });
    writeFile(
      cwd,
      'primary/002_tables.sql',
      'CREATE TABLE IF NOT EXISTS config.settings (key text PRIMARY KEY);\n',
    );
    rmSync(`${cwd}/database/data/002_tables.sql`);
    const report = await validate({ cwd, env: single(url) });
    expect(report.exitCode).toBe(3);
    expect(report.sets[0]!.problems.map((p) => p.kind)).toEqual(['checksum']);
    expect(report.sets[1]!.problems.map((p) => p.kind)).toEqual(['missing-file']);
  });
});
