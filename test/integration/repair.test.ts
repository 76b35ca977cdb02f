import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';
import { runCli } from '../support/cli.js';

/*
 * SPEC §4: repair never applies a data change twice. Each case changes rows
 * in the migration that made the missing object, and reads the rows back
 * from the server after the repair.
 */

const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};
const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const prices = async (url: string) =>
  (await query<{ price: number }>(url, 'SELECT price FROM workspace.items ORDER BY id')).map(
    (r) => r.price,
  );

async function appliedWithPrices(files: Record<string, string>) {
  const url = await freshDatabase();
  const cwd = makeProject({
    ...SCHEMAS,
    'data/002_items.sql':
      'CREATE TABLE workspace.items (id int PRIMARY KEY, price int);\nINSERT INTO workspace.items VALUES (1, 3), (2, 5);\n',
  });
  expect(
    (await migrate({ cwd, env: single(url), sets: ['data'], force: true })).error,
  ).toBeUndefined();
  for (const [path, sql] of Object.entries(files)) writeFile(cwd, path, sql);
  const report = await migrate({ cwd, env: single(url), sets: ['data'] });
  expect(report.error).toBeUndefined();
  return { url, cwd };
}

describe('--repair never applies a data change twice', () => {
  it('a file that multiplies prices and creates an index: a DBA renames the index; repair re-creates only the index', async () => {
    const { url, cwd } = await appliedWithPrices({
      'data/003_cents.sql':
        'UPDATE workspace.items SET price = price * 100 WHERE price < 1000;\nCREATE INDEX items_by_price ON workspace.items (price);\n',
    });
    expect(await prices(url)).toEqual([300, 500]);
    await query(url, 'ALTER INDEX workspace.items_by_price RENAME TO items_price_idx');

    const blocked = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(blocked.sets[0]!.problems[0]!.message).toContain(
      'index workspace.items_by_price (003_cents.sql)',
    );

    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '003_cents.sql changes rows, so only what re-creates the missing objects runs again: line 2',
    );
    expect(await prices(url)).toEqual([300, 500]);
    expect(
      await query(url, "SELECT to_regclass('workspace.items_by_price') IS NOT NULL AS ok"),
    ).toEqual([{ ok: true }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    const events = await query<{ event: string }>(
      url,
      "SELECT event FROM schemata.migrations WHERE set_name = 'data' AND version = '3' ORDER BY id",
    );
    expect(events.map((e) => e.event)).toEqual(['applied', 'repaired']);
  });

  it('a guarded DO block that only creates objects runs again: it is the statement that makes what is missing', async () => {
    const { url, cwd } = await appliedWithPrices({
      'data/003_check.sql': [
        'DO $$ BEGIN',
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'items_price_positive') THEN",
        '    ALTER TABLE workspace.items ADD CONSTRAINT items_price_positive CHECK (price > 0);',
        '  END IF;',
        'END $$;',
        '',
      ].join('\n'),
    });
    await query(url, 'ALTER TABLE workspace.items DROP CONSTRAINT items_price_positive');
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '003_check.sql runs again only what re-creates the missing objects: line 1.',
    );
    expect(
      await query(
        url,
        "SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'items_price_positive'",
      ),
    ).toEqual([{ n: 1 }]);
  });

  it('what dynamic SQL made, in a file that changes rows: repair stops (exit 3) naming the statement; --force runs it whole', async () => {
    const { url, cwd } = await appliedWithPrices({
      'data/003_audit.sql':
        "UPDATE workspace.items SET price = price + 1 WHERE id > 0;\nDO $$ BEGIN EXECUTE '' || 'CREATE TABLE workspace.' || 'audit (id int)'; END $$;\n",
    });
    expect(await prices(url)).toEqual([4, 6]);
    await query(url, 'DROP TABLE workspace.audit');
    const stopped = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(stopped.exitCode).toBe(3);
    const problem = stopped.sets[0]!.problems.find((p) => p.kind === 'repair-refused')!;
    expect(problem.message).toContain(
      'database/data/003_audit.sql:1:1 (UPDATE workspace.items SET price = price + 1 WHERE id > 0) changes rows that exist',
    );
    expect(problem.message).toContain('no statement of the file names table workspace.audit');
    expect(problem.hint).toContain('schemata migrate data --repair --force');
    expect(await prices(url)).toEqual([4, 6]);

    const forced = await migrate({
      cwd,
      env: single(url),
      sets: ['data'],
      repair: true,
      force: true,
    });
    expect(forced.error).toBeUndefined();
    expect(await prices(url)).toEqual([5, 7]);
  });

  it('what dynamic SQL made, in a file that changed no rows: repair stops naming it; the hint, typed at the CLI, runs it whole', async () => {
    const { url, cwd } = await appliedWithPrices({
      'data/003_audit.sql':
        "CREATE TABLE IF NOT EXISTS workspace.kept (id int);\nDO $$ BEGIN EXECUTE '' || 'CREATE TABLE IF NOT EXISTS workspace.' || 'audit (id int)'; END $$;\n",
    });
    await query(url, 'INSERT INTO workspace.kept VALUES (1)');
    await query(url, 'DROP TABLE workspace.audit');
    const stopped = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(stopped.exitCode).toBe(3);
    const problem = stopped.sets[0]!.problems.find((p) => p.kind === 'repair-refused')!;
    expect(problem.message).toContain('no statement of the file names table workspace.audit');
    const typed = /run: (schemata migrate data --repair --force)$/.exec(problem.hint)?.[1];
    expect(typed).toBe('schemata migrate data --repair --force');
    const forced = await runCli(typed!.split(' ').slice(1), { cwd, env: single(url) });
    expect(forced.code).toBe(0);
    expect(await query(url, "SELECT to_regclass('workspace.audit') IS NOT NULL AS ok")).toEqual([
      { ok: true },
    ]);
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.kept')).toEqual([{ n: 1 }]);
    expect(await prices(url)).toEqual([3, 5]);
  });

  // The file changed no rows, but runs again only the statement that makes what is missing: its ALTER
  // COLUMN ... TYPE, on a table that holds rows now, is neither judged nor run.
  it("a file that changed an enum column in its own BEGIN ... COMMIT, then made an index: only the index's statement is judged and runs", async () => {
    const { url, cwd } = await appliedWithPrices({
      'data/003_kind.sql': [
        "CREATE TYPE workspace.kind AS ENUM ('a', 'b');",
        "CREATE TABLE workspace.kinds (id int PRIMARY KEY, kind workspace.kind NOT NULL DEFAULT 'a');",
        '',
      ].join('\n'),
      'data/004_kind_new.sql': [
        'BEGIN;',
        "CREATE TYPE workspace.kind_new AS ENUM ('a', 'c');",
        'ALTER TABLE workspace.kinds ALTER COLUMN kind DROP DEFAULT;',
        'ALTER TABLE workspace.kinds ALTER COLUMN kind TYPE workspace.kind_new USING (kind::text::workspace.kind_new);',
        'ALTER TYPE workspace.kind RENAME TO kind_old;',
        'ALTER TYPE workspace.kind_new RENAME TO kind;',
        'DROP TYPE workspace.kind_old;',
        "ALTER TABLE workspace.kinds ALTER COLUMN kind SET DEFAULT 'a';",
        'COMMIT;',
        'CREATE INDEX kinds_by_kind ON workspace.kinds (kind);',
        '',
      ].join('\n'),
    });
    await query(url, "INSERT INTO workspace.kinds VALUES (1, 'a'), (2, 'c')");
    await query(url, 'DROP INDEX workspace.kinds_by_kind');
    // The ALTER COLUMN ... TYPE of line 4 would rewrite rows, but it does not run again: no refusal.
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '004_kind_new.sql runs again only what re-creates the missing objects: line 10.',
    );
    expect(await prices(url)).toEqual([3, 5]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it.each([
    ['in a transaction', ''],
    ['outside one (-- schemata:no-transaction)', '-- schemata:no-transaction\n'],
  ])(
    'a file %s that narrowed a quoted column through SET search_path, then made its index: only the SET and the index run again',
    async (_name, marker) => {
      const { url, cwd } = await appliedWithPrices({
        'data/003_notes.sql':
          'CREATE TABLE workspace."Notes" ("Id" int PRIMARY KEY, "Body" varchar(20));\n',
        'data/004_narrow.sql': [
          `${marker}SET search_path TO workspace;`,
          'ALTER TABLE "Notes" ALTER COLUMN "Body" TYPE varchar(10);',
          'CREATE INDEX "Notes_Body_idx" ON "Notes" ("Body");',
          '',
        ].join('\n'),
      });
      await query(url, 'INSERT INTO workspace."Notes" VALUES (1, \'kept\')');
      await query(url, 'DROP INDEX workspace."Notes_Body_idx"');
      const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
      expect(repaired.sets[0]!.problems).toEqual([]);
      const line = marker === '' ? 1 : 2;
      expect(repaired.sets[0]!.warnings.join('\n')).toContain(
        `004_narrow.sql runs again only what re-creates the missing objects: lines ${line}, ${line + 2}.`,
      );
      expect(
        await query(url, `SELECT to_regclass('workspace."Notes_Body_idx"') IS NOT NULL AS ok`),
      ).toEqual([{ ok: true }]);
      expect(await query(url, 'SELECT "Body" FROM workspace."Notes"')).toEqual([{ Body: 'kept' }]);
      expect(await prices(url)).toEqual([3, 5]);
      expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    },
  );

  it("DROP INDEX old; CREATE INDEX new (Prisma's index change), new dropped by hand: only the CREATE runs, not the DROP of what the file dropped", async () => {
    const { url, cwd } = await appliedWithPrices({
      'data/003_old.sql': 'CREATE INDEX items_old ON workspace.items (price);\n',
      'data/004_new.sql':
        'DROP INDEX workspace.items_old;\nCREATE INDEX items_new ON workspace.items (price, id);\n',
    });
    await query(url, 'DROP INDEX workspace.items_new');
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '004_new.sql drops, without IF EXISTS, what is not there, so only what re-creates the missing objects runs again: line 2',
    );
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it("a partition dropped by hand comes back with its parent's later column and row trigger; then the trigger, dropped with its function, comes back on every partition", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_events.sql': [
        'CREATE TABLE workspace.events (id int, at date NOT NULL) PARTITION BY RANGE (at);',
        "CREATE TABLE workspace.events_2024 PARTITION OF workspace.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        "CREATE TABLE workspace.events_2025 PARTITION OF workspace.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        '',
      ].join('\n'),
      'data/003_note.sql': 'ALTER TABLE workspace.events ADD COLUMN note text;\n',
      'data/004_touch.sql': [
        'CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
        'CREATE TRIGGER events_touch BEFORE INSERT ON workspace.events FOR EACH ROW EXECUTE FUNCTION workspace.touch();',
        '',
      ].join('\n'),
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(url, "INSERT INTO workspace.events VALUES (1, '2024-05-01', 'kept')");

    await query(url, 'DROP TABLE workspace.events_2025');
    const partition = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(partition.error).toBeUndefined();
    // Only the partition's CREATE runs: the column and the trigger come with it, their migrations run nothing.
    expect(partition.sets[0]!.warnings.join('\n')).toContain(
      '002_events.sql creates what still exists, so only what re-creates the missing objects runs again: line 3.',
    );
    expect(partition.sets[0]!.warnings.join('\n')).not.toMatch(/003_note|004_touch/);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);

    await query(url, 'DROP FUNCTION workspace.touch() CASCADE');
    const trigger = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(trigger.error).toBeUndefined();
    expect(
      await query(
        url,
        "SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'events_touch' ORDER BY 1",
      ),
    ).toEqual([
      { t: 'workspace.events' },
      { t: 'workspace.events_2024' },
      { t: 'workspace.events_2025' },
    ]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    expect(await query(url, 'SELECT note FROM workspace.events')).toEqual([{ note: 'kept' }]);
  });
});
