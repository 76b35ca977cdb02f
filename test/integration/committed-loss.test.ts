import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../../src/api.js';
import { type CliResult, hintedArgs, runCli } from '../support/cli.js';
import { query } from '../support/db.js';
import { appliedDataSet } from '../support/applied.js';
import { writeFile } from '../support/project.js';

/*
 * A DO block or procedure that COMMITs runs outside any transaction, as psql
 * runs it: no measurement in a transaction can roll back what it commits.
 * The tables that held rows are read before and after it instead, and a loss
 * is said (exit 4), never passed over. Each deletion here is dynamic SQL, so
 * that the forecast cannot see it and only the reading after it can.
 */

const BASE = {
  'data/001_items.sql': [
    'CREATE SCHEMA IF NOT EXISTS workspace;',
    'CREATE SCHEMA IF NOT EXISTS reference;',
    'CREATE TABLE workspace.items (id int PRIMARY KEY, label text);',
    'CREATE TABLE workspace.log (n int);',
    // An earlier deploy's procedure: it empties a table named at run time, and commits.
    "CREATE PROCEDURE workspace.purge(t text) LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('TRUNCATE workspace.%I', t); COMMIT; END $$;",
    '',
  ].join('\n'),
};

async function setUp() {
  return appliedDataSet(BASE, "INSERT INTO workspace.items VALUES (1, 'a'), (2, 'b')");
}

const events = (url: string, version: string) =>
  query<{ event: string; rows: unknown; forced: string | null }>(
    url,
    `SELECT event, effects->'rows' AS rows, effects->>'forced' AS forced FROM schemata.migrations
      WHERE set_name = 'data' AND version = '${version}' ORDER BY id`,
  );

/**
 * A migration recorded failed (dirty) outside a transaction: the `migrate data --repair ...` each message prints,
 * run as typed, until one applies (at most two: a repair that refuses a file changing rows prints its --force).
 */
async function followRepairHints(
  failed: CliResult,
  cwd: string,
  env: Record<string, string>,
): Promise<CliResult> {
  let result = failed;
  for (let step = 0; step < 2 && result.code !== 0; step++) {
    const args = hintedArgs(result);
    expect(args.slice(0, 3)).toEqual(['migrate', 'data', '--repair']);
    result = await runCli(args, { cwd, env });
  }
  return result;
}

describe('a DO block or procedure that COMMITs, beyond the measurement', () => {
  it.each([
    [
      'a DO block',
      "DO $$ BEGIN EXECUTE format('TRUNCATE %I.%I', 'workspace', 'it' || 'ems'); COMMIT; END $$;\n",
      'table workspace.items held 2 rows and is now empty (its storage was replaced: TRUNCATE or a rewrite)',
      undefined,
    ],
    [
      'CALL of a procedure, in a -- schemata:no-transaction file',
      "-- schemata:no-transaction\nCALL workspace.purge('items');\n",
      'table workspace.items held 2 rows and is now empty (its storage was replaced: TRUNCATE or a rewrite)',
      undefined,
    ],
    [
      'a DO block that drops a column',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items DROP COLUMN ' || 'label'; COMMIT; END $$;\n",
      'column label of table workspace.items held data (2 rows) and is gone',
      "DO $$ BEGIN EXECUTE '' || 'ALTER TABLE workspace.items DROP COLUMN IF EXISTS ' || 'label'; COMMIT; END $$;\n",
    ],
    [
      'a DO block that drops the table',
      "DO $$ BEGIN EXECUTE '' || 'DROP TABLE workspace.' || 'items'; COMMIT; END $$;\n",
      'table workspace.items held 2 rows and is gone',
      "DO $$ BEGIN EXECUTE '' || 'DROP TABLE IF EXISTS workspace.' || 'items'; COMMIT; END $$;\n",
    ],
  ])(
    '%s: the loss is said after it, exit 4, the migration recorded failed; the commands printed record it',
    async (_case, sql, said, rerunnable) => {
      const { url, cwd, env } = await setUp();
      writeFile(cwd, 'data/002_purge.sql', sql);
      const run = await runCli(['migrate', 'data'], { cwd, env });
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).toContain(`data protection found after database/data/002_purge.sql:`);
      expect(run.stderr).toContain(said);
      expect(run.stderr).toContain('its own COMMITs made this one permanent');
      expect(run.stderr).toContain(
        'Restore workspace.items from a backup if those rows are still needed',
      );
      expect(run.stderr).toContain('Make database/data/002_purge.sql re-runnable');
      expect((await events(url, '2')).map((e) => e.event)).toEqual(['running', 'failed']);
      // The file made re-runnable where it was not, as the hint says; then each command printed, as typed.
      if (rerunnable) writeFile(cwd, 'data/002_purge.sql', rerunnable);
      const result = await followRepairHints(run, cwd, env);
      expect(result.code, result.stderr).toBe(0);
      expect((await events(url, '2')).at(-1)!.event).toBe('repaired');
    },
  );

  it.each([
    [
      'a partitioned table truncated through its parent',
      "CREATE TABLE workspace.events (id int, at date) PARTITION BY RANGE (at);\nCREATE TABLE workspace.events_2026 PARTITION OF workspace.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n",
      "INSERT INTO workspace.events VALUES (1, '2026-05-01'), (2, '2026-06-01')",
      "DO $$ BEGIN EXECUTE '' || 'TRUNCATE workspace.' || 'events'; COMMIT; END $$;\n",
      'table workspace.events_2026 held 2 rows and is now empty (its storage was replaced: TRUNCATE or a rewrite)',
      'workspace.events_2026',
    ],
    [
      'an inheritance child dropped with its parent (CASCADE)',
      'CREATE TABLE workspace.base (id int);\nCREATE TABLE workspace.child () INHERITS (workspace.base);\n',
      'INSERT INTO workspace.child VALUES (1), (2), (3)',
      "DO $$ BEGIN EXECUTE '' || 'DROP TABLE workspace.' || 'base CASCADE'; COMMIT; END $$;\n",
      'table workspace.child held 3 rows and is gone',
      'workspace.child',
    ],
  ])(
    '%s: each table that held rows is named as itself, exit 4',
    async (_case, made, rows, sql, said, table) => {
      const { url, cwd, env } = await setUp();
      writeFile(cwd, 'data/002_tree.sql', made);
      expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
      await query(url, rows);
      writeFile(cwd, 'data/003_purge.sql', sql);
      const run = await migrate({ cwd, env, sets: ['data'] });
      expect(run.exitCode).toBe(4);
      expect(run.error!.message).toContain(said);
      expect(run.sets[0]!.problems.flatMap((p) => p.holders ?? []).map((h) => h.table)).toContain(
        table,
      );
      expect((await events(url, '3')).map((e) => e.event)).toEqual(['running', 'failed']);
    },
  );

  it('a CALL that COMMITs in a file run in a transaction: the hint makes it run as psql would, and the command printed applies it', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(cwd, 'data/002_call.sql', "CALL workspace.purge('log');\n");
    const run = await runCli(['migrate', 'data'], { cwd, env });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('What it runs COMMITs or ROLLBACKs');
    expect(run.stderr).toContain(
      'with the first line: -- schemata:no-transaction; then run again: npx schemata migrate data',
    );
    writeFile(
      cwd,
      'data/002_call.sql',
      "-- schemata:no-transaction\nCALL workspace.purge('log');\n",
    );
    const again = await runCli(hintedArgs(run), { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect((await events(url, '2')).at(-1)!.event).toBe('applied');
  });

  it('a table another session holds locked: the reading before it waits 5 s, says so, and runs nothing; the command printed then applies it', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/002_batches.sql',
      'DO $$ BEGIN FOR i IN 1..3 LOOP INSERT INTO workspace.log VALUES (i); COMMIT; END LOOP; END $$;\n',
    );
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    let run;
    try {
      await other.query('BEGIN; LOCK TABLE workspace.items IN ACCESS EXCLUSIVE MODE');
      run = await runCli(['migrate', 'data'], { cwd, env });
    } finally {
      await other.end();
    }
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      'data protection could not read the tables that hold rows before line 1',
    );
    expect(run.stderr).toContain('so it did not run');
    expect(run.stderr).toContain('(another session holds a lock on one of them)');
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.log')).toEqual([{ n: 0 }]);
    // Recorded failed (dirty), as any failure outside a transaction: the commands printed, as typed.
    const again = await followRepairHints(run, cwd, env);
    expect(again.code, again.stderr).toBe(0);
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.log')).toEqual([{ n: 3 }]);
  });

  it('forced with -- schemata:force: it applies, and its event names the loss and says nothing of rows', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/002_purge.sql',
      "-- schemata:force\nDO $$ BEGIN EXECUTE format('TRUNCATE %I.%I', 'workspace', 'it' || 'ems'); COMMIT; END $$;\n",
    );
    const run = await migrate({ cwd, env, sets: ['data'] });
    expect(run.error).toBeUndefined();
    const [event] = (await events(url, '2')).slice(-1);
    expect(event).toEqual({
      event: 'applied',
      rows: null,
      forced:
        'table workspace.items held 2 rows and is now empty (its storage was replaced: TRUNCATE or a rewrite)',
    });
  });

  it('a table emptied by deletes is a warning, not a loss: another session may have deleted those rows meanwhile', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/002_purge.sql',
      "DO $$ BEGIN EXECUTE format('DELETE FROM %I.%I', 'workspace', 'it' || 'ems'); COMMIT; END $$;\n",
    );
    const run = await migrate({ cwd, env, sets: ['data'] });
    expect(run.error).toBeUndefined();
    expect(run.sets[0]!.warnings).toContain(
      'database/data/002_purge.sql:1:1: after it ran, table workspace.items held 2 rows and is now empty: its rows were deleted, by it or by another session meanwhile (outside a transaction, which cannot be told).',
    );
    expect((await events(url, '2')).at(-1)).toEqual({ event: 'applied', rows: null, forced: null });
  });

  it('one that only adds rows runs as written, and its event says nothing of rows (they were not counted)', async () => {
    const { url, cwd, env } = await setUp();
    writeFile(
      cwd,
      'data/002_batches.sql',
      'DO $$ BEGIN FOR i IN 1..3 LOOP INSERT INTO workspace.log VALUES (i); COMMIT; END LOOP; END $$;\n',
    );
    expect((await migrate({ cwd, env, sets: ['data'] })).error).toBeUndefined();
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.log')).toEqual([{ n: 3 }]);
    expect((await events(url, '2')).at(-1)).toEqual({ event: 'applied', rows: null, forced: null });
  });
});
