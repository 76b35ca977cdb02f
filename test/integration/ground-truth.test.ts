import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { baseline, migrate, status, validate } from '../../src/api.js';
import { CATALOG_OBJECTS_SQL } from '../../src/catalog/listing.js';
import { freshDatabase, query, tableExists } from '../support/db.js';
import { generatedHistory } from '../support/history.js';
import { makeProject, writeFile } from '../support/project.js';

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
};

/** Applies the files and expects every later deploy and validate to be clean. */
async function appliedClean(files: Record<string, string>) {
  const url = await freshDatabase();
  const cwd = makeProject({ ...SCHEMAS, ...files });
  const first = await migrate({ cwd, env: single(url), sets: ['data'] });
  expect(first.error).toBeUndefined();
  const again = await migrate({ cwd, env: single(url), sets: ['data'] });
  expect(again.error).toBeUndefined();
  expect(again.sets[0]!.problems).toEqual([]);
  const checked = await validate({ cwd, env: single(url), sets: ['data'] });
  expect(checked.sets[0]!.problems).toEqual([]);
  expect(checked.exitCode).toBe(0);
  return { url, cwd };
}

/** The problem validate reports after `sql` ran by hand. */
async function afterHandDrop(url: string, cwd: string, sql: string) {
  await query(url, sql);
  const report = await validate({ cwd, env: single(url), sets: ['data'] });
  expect(report.exitCode).toBe(3);
  const problem = report.sets[0]!.problems.find((p) => p.kind === 'mismatch');
  expect(problem).toBeDefined();
  return problem!;
}

describe('legitimate DDL leaves no false mismatch', () => {
  it.each([
    [
      'an index that goes with DROP COLUMN',
      {
        'data/002_t.sql':
          'CREATE TABLE workspace.t (id int, legacy text);\nCREATE INDEX t_legacy ON workspace.t (legacy);\n',
        'data/003_drop.sql': 'ALTER TABLE workspace.t DROP COLUMN legacy;\n',
      },
    ],
    [
      'an index ON public.t, then an unqualified DROP TABLE t',
      {
        'data/002_t.sql': 'CREATE TABLE public.t (id int);\nCREATE INDEX t_id ON public.t (id);\n',
        'data/003_drop.sql': 'DROP TABLE t;\n',
      },
    ],
    [
      'ALTER TYPE ... RENAME',
      {
        'data/002_e.sql': "CREATE TYPE workspace.mood AS ENUM ('a');\n",
        'data/003_rename.sql': 'ALTER TYPE workspace.mood RENAME TO feeling;\n',
      },
    ],
    [
      'ALTER TABLE ... SET SCHEMA',
      {
        'data/002_t.sql': 'CREATE TABLE workspace.t (id int PRIMARY KEY);\n',
        'data/003_move.sql': 'ALTER TABLE workspace.t SET SCHEMA reference;\n',
      },
    ],
    [
      'the rename-and-recreate swap',
      {
        'data/002_t.sql': 'CREATE TABLE workspace.t (id int);\n',
        'data/003_swap.sql':
          'ALTER TABLE workspace.t RENAME TO t_old;\nCREATE TABLE workspace.t (id bigint, v text);\n',
      },
    ],
    [
      'ALTER FUNCTION ... RENAME',
      {
        'data/002_f.sql':
          'CREATE FUNCTION workspace.f(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n',
        'data/003_rename.sql': 'ALTER FUNCTION workspace.f(integer) RENAME TO g;\n',
      },
    ],
    [
      'ALTER INDEX ... RENAME, then DROP TABLE',
      {
        'data/002_t.sql':
          'CREATE TABLE workspace.t (id int);\nCREATE INDEX t_i ON workspace.t (id);\n',
        'data/003_r.sql': 'ALTER INDEX workspace.t_i RENAME TO t_j;\n',
        'data/004_d.sql': 'DROP TABLE workspace.t;\n',
      },
    ],
    [
      'DROP VIEW IF EXISTS v; CREATE VIEW v in one file, where v exists',
      {
        'data/002_v.sql': 'CREATE VIEW workspace.v AS SELECT 1 AS x;\n',
        'data/003_v.sql':
          'DROP VIEW IF EXISTS workspace.v;\nCREATE VIEW workspace.v AS SELECT 2 AS x, 3 AS y;\n',
      },
    ],
    [
      'a new overload of an existing function',
      {
        'data/002_f.sql':
          'CREATE FUNCTION workspace.f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;\n',
        'data/003_f.sql':
          'CREATE FUNCTION workspace.f(a text) RETURNS text LANGUAGE sql AS $$ SELECT a $$;\n',
      },
    ],
  ])('%s', async (_name, files) => {
    await appliedClean(files);
  });

  it('a DROP VIEW IF EXISTS then CREATE VIEW in a pending file is no drift, though the view exists (as psql runs it)', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      ...SCHEMAS,
      'data/002_v.sql': 'CREATE VIEW workspace.v AS SELECT 1 AS x;\n',
    });
    await migrate({ cwd, env: single(url), sets: ['data'] });
    writeFile(
      cwd,
      'data/003_v.sql',
      'DROP VIEW IF EXISTS workspace.v;\nCREATE VIEW workspace.v AS SELECT 2 AS x;\n',
    );
    writeFile(
      cwd,
      'data/004_f.sql',
      'CREATE FUNCTION workspace.f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;\n',
    );
    writeFile(
      cwd,
      'data/005_f.sql',
      'CREATE FUNCTION workspace.f(a text, b int) RETURNS text LANGUAGE sql AS $$ SELECT a $$;\n',
    );
    const planned = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(planned.sets[0]!.problems).toEqual([]);
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'] })).sets[0]!.applied.map(
        (a) => a.file,
      ),
    ).toEqual(['003_v.sql', '004_f.sql', '005_f.sql']);
    // The same signature again is drift, named before anything runs.
    writeFile(
      cwd,
      'data/006_f.sql',
      'CREATE FUNCTION workspace.f(integer) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n',
    );
    const drift = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(drift.sets[0]!.problems.map((p) => p.kind)).toEqual(['drift']);
    expect(drift.sets[0]!.problems[0]!.message).toContain(
      '006_f.sql:1:1 creates function workspace.f(int4)',
    );
  });

  it('a schema added to the set together with the migration that creates it is pending, not a mismatch', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SCHEMAS);
    await migrate({ cwd, env: single(url), sets: ['data'] });
    writeFile(
      cwd,
      'schemata.json',
      JSON.stringify({
        sets: [
          {
            name: 'data',
            dir: 'data',
            database: 'data',
            schemas: ['workspace', 'reference', 'audit'],
          },
        ],
      }),
    );
    writeFile(
      cwd,
      'data/002_audit.sql',
      'CREATE SCHEMA audit;\nCREATE TABLE audit.events (id int);\n',
    );
    const before = await validate({ cwd, env: single(url) });
    expect(before.sets[0]!.problems).toEqual([]);
    const run = await migrate({ cwd, env: single(url) });
    expect(run.error).toBeUndefined();
    expect(await tableExists(url, 'audit.events')).toBe(true);
  });
});

describe('what a migration really made is checked, whoever made it', () => {
  it('objects made in a guarded DO block, and the constraint it adds, dropped by hand, are named with their migration', async () => {
    const { url, cwd } = await appliedClean({
      'data/002_guarded.sql':
        "DO $$\nBEGIN\n  IF to_regclass('workspace.notes') IS NULL THEN\n    CREATE TABLE workspace.notes (id int PRIMARY KEY, body text);\n  END IF;\n" +
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'notes_body_check') THEN\n    ALTER TABLE workspace.notes ADD CONSTRAINT notes_body_check CHECK (body <> '');\n  END IF;\nEND\n$$;\n",
    });
    const constraint = await afterHandDrop(
      url,
      cwd,
      'ALTER TABLE workspace.notes DROP CONSTRAINT notes_body_check',
    );
    expect(constraint.message).toContain(
      'constraint notes_body_check on workspace.notes (002_guarded.sql)',
    );
    expect(constraint.hint).toBe('schemata migrate data --repair');
    // The guarded block is re-runnable: the hint works as typed.
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    const table = await afterHandDrop(url, cwd, 'DROP TABLE workspace.notes');
    expect(table.message).toContain('table workspace.notes (002_guarded.sql)');
  });

  it('a function with EXECUTE does not blind validation: a table made earlier and dropped by hand is named, and so is the dynamic one', async () => {
    const { url, cwd } = await appliedClean({
      'data/002_t.sql': 'CREATE TABLE workspace.kept (id int);\n',
      'data/003_dynamic.sql':
        "CREATE FUNCTION workspace.make(n text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE TABLE workspace.%I (id int)', n); END $$;\nSELECT workspace.make('made_dynamically');\n",
      'data/004_do.sql':
        "DO $$ BEGIN EXECUTE '' || 'CREATE INDEX kept_id ON workspace.kept (id)'; END $$;\n",
    });
    const problem = await afterHandDrop(
      url,
      cwd,
      'DROP TABLE workspace.made_dynamically; DROP TABLE workspace.kept',
    );
    expect(problem.message).toContain('table workspace.kept (002_t.sql)');
    expect(problem.message).toContain('table workspace.made_dynamically (003_dynamic.sql)');
  });

  it.each([
    [
      'a trigger',
      'DROP TRIGGER t_touch ON workspace.t',
      'trigger t_touch on workspace.t (002_t.sql)',
    ],
    ['a policy', 'DROP POLICY t_all ON workspace.t', 'policy t_all on workspace.t (002_t.sql)'],
    ['a sequence', 'DROP SEQUENCE workspace.tickets', 'sequence workspace.tickets (002_t.sql)'],
    ['an index', 'DROP INDEX workspace.t_v', 'index workspace.t_v (002_t.sql)'],
    [
      'a function, by its signature',
      'DROP FUNCTION workspace.touch()',
      'function workspace.touch() (002_t.sql)',
    ],
    ['a column', 'ALTER TABLE workspace.t DROP COLUMN v', 'column workspace.t.v (002_t.sql)'],
    [
      'a constraint',
      'ALTER TABLE workspace.t DROP CONSTRAINT t_v_check',
      'constraint t_v_check on workspace.t (002_t.sql)',
    ],
  ])('%s dropped by hand is named with its migration', async (_name, drop, named) => {
    const { url, cwd } = await appliedClean({
      'data/002_t.sql':
        "CREATE TABLE workspace.t (id int, v text CONSTRAINT t_v_check CHECK (v <> ''));\nCREATE INDEX t_v ON workspace.t (v);\nCREATE SEQUENCE workspace.tickets;\n" +
        'CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n' +
        'CREATE TRIGGER t_touch BEFORE UPDATE ON workspace.t FOR EACH ROW EXECUTE FUNCTION workspace.touch();\n' +
        'ALTER TABLE workspace.t ENABLE ROW LEVEL SECURITY;\nCREATE POLICY t_all ON workspace.t USING (true);\n',
    });
    // The trigger goes with its function: drop it first where the function is the subject.
    if (drop.startsWith('DROP FUNCTION')) await query(url, 'DROP TRIGGER t_touch ON workspace.t');
    const problem = await afterHandDrop(url, cwd, drop);
    expect(problem.message).toContain(named);
  });

  it('an index a DBA added is listed as extra by status, and is no mismatch', async () => {
    const { url, cwd } = await appliedClean({
      'data/002_t.sql': 'CREATE TABLE workspace.t (id int, v text);\n',
    });
    await query(url, 'CREATE INDEX dba_t_v ON workspace.t (v)');
    const report = await status({ cwd, env: single(url), sets: ['data'] });
    expect(report.sets[0]!.problems).toEqual([]);
    expect(report.sets[0]!.extra).toEqual(['index workspace.dba_t_v']);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it("status of two sets on one database: each set's extra and missing objects, from one reading of the catalog", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'primary/001_schemas.sql': 'CREATE SCHEMA config;\nCREATE SCHEMA customer;\n',
      'primary/002_settings.sql':
        'CREATE TABLE config.settings (key text PRIMARY KEY, value text);\n',
      ...SCHEMAS,
      'data/002_t.sql':
        'CREATE TABLE workspace.t (id int, v text);\nCREATE TABLE workspace.gone (id int);\n',
    });
    expect((await migrate({ cwd, env: single(url) })).error).toBeUndefined();
    await query(
      url,
      `DROP TABLE workspace.gone;
       CREATE INDEX dba_t_v ON workspace.t (v);
       CREATE TABLE reference.by_hand (id int);
       CREATE INDEX dba_settings_value ON config.settings (value);
       CREATE VIEW customer.a_view AS SELECT 1 AS one;`,
    );
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    let report: Awaited<ReturnType<typeof status>>;
    let listings: number;
    try {
      report = await status({ cwd, env: single(url) });
      listings = spy.mock.calls.filter(
        (call) =>
          typeof call[0] === 'string' &&
          call[0].includes('SELECT l.kind, l.identity, l.schema_name FROM'),
      ).length;
    } finally {
      spy.mockRestore();
    }
    const bySet = Object.fromEntries(report.sets.map((s) => [s.name, s]));
    expect(bySet.primary!.extra).toEqual([
      'index config.dba_settings_value',
      'view customer.a_view',
    ]);
    expect(bySet.data!.extra).toEqual([
      'table reference.by_hand',
      'column reference.by_hand.id',
      'index workspace.dba_t_v',
    ]);
    expect(bySet.primary!.problems).toEqual([]);
    expect(bySet.data!.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('table workspace.gone'),
    ]);
    expect(listings).toBe(1);
  });
});

describe('history', () => {
  it('applying, repairing and failing add rows and overwrite none; status shows when each was applied', async () => {
    const { url, cwd } = await appliedClean({
      'data/002_t.sql': 'CREATE TABLE IF NOT EXISTS workspace.t (id int);\n',
    });
    await query(url, 'DROP TABLE workspace.t');
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'], repair: true })).error,
    ).toBeUndefined();
    writeFile(cwd, 'data/003_bad.sql', 'SELECT 1/0;\n');
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).exitCode).toBe(1);
    const rows = await query<{ version: string; event: string }>(
      url,
      "SELECT version, event FROM schemata.migrations WHERE set_name = 'data' ORDER BY id",
    );
    expect(rows).toEqual([
      { version: '1', event: 'applied' },
      { version: '2', event: 'applied' },
      { version: '2', event: 'repaired' },
    ]);
    const report = await status({ cwd, env: single(url), sets: ['data'] });
    expect(report.sets[0]!.applied.map((a) => [a.file, a.event])).toEqual([
      ['001_schemas.sql', 'applied'],
      ['002_t.sql', 'repaired'],
    ]);
    expect(Date.parse(report.sets[0]!.applied[1]!.appliedAt!)).toBeGreaterThan(
      Date.parse(report.sets[0]!.applied[0]!.appliedAt!),
    );
  });
});

/** Runs each file as one simple query, as `psql -f` would, on a database of its own. */
async function applyAsPsql(files: Record<string, string>): Promise<string> {
  const url = await freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of Object.keys(files).sort()) await client.query(files[name]!);
  } finally {
    await client.end();
  }
  return url;
}

const catalogOf = async (url: string) =>
  (
    await query<{ kind: string; identity: string }>(
      url,
      `SELECT kind, identity FROM (${CATALOG_OBJECTS_SQL}) c ORDER BY kind, identity`,
    )
  ).map((r) => `${r.kind} ${r.identity}`);

describe("a generated history of 300 migrations in real projects' idioms", () => {
  const files = generatedHistory(30);

  it("applies; validate and a second migrate are clean; the catalog equals psql's; any object dropped by hand is named with its migration", async () => {
    expect(Object.keys(files).length).toBeGreaterThanOrEqual(300);
    const url = await freshDatabase();
    const cwd = makeProject(files);
    const first = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(first.error).toBeUndefined();
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).sets[0]!.problems).toEqual(
      [],
    );
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    expect(await catalogOf(url)).toEqual(await catalogOf(await applyAsPsql(files)));

    const expected = await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM schemata.objects WHERE set_name = 'data'",
    );
    // PostgreSQL 18 also keeps NOT NULL constraints in pg_constraint: more objects there than on 14.
    expect(expected[0]!.n).toBeGreaterThan(900);

    const problem = await afterHandDrop(
      url,
      cwd,
      [
        'DROP TABLE workspace.items_4_notes',
        'ALTER TABLE reference.items_7_old DROP CONSTRAINT items_7_title_check',
        'DROP INDEX workspace.items_9_by_title',
        'DROP FUNCTION workspace.label_text_11(text)',
        'DROP TRIGGER items_13_touch ON workspace.items_13',
        'DROP TYPE workspace.feeling_17',
        'DROP TABLE reference.items_21_old',
        'DROP TABLE workspace.log_25_a',
      ].join('; '),
    );
    for (const named of [
      'table workspace.items_4_notes (0046_guarded_4.sql)',
      // made by 0072, renamed with its table by 0074 and moved with it by 0081
      'constraint items_7_title_check on reference.items_7_old (0072_items_7.sql)',
      'index workspace.items_9_by_title (0094_swap_9.sql)',
      'function workspace.label_text_11(text) (0118_views_11.sql)',
      'trigger items_13_touch on workspace.items_13 (0140_guard_rows_13.sql)',
      'type workspace.feeling_17 (0175_mood_17.sql)',
      'table reference.items_21_old (0212_items_21.sql)',
      'table workspace.log_25_a (0257_dynamic_25.sql)',
    ]) {
      expect(problem.message).toContain(named);
    }
  });
});

describe('baseline adopts a database with the same ground truth', () => {
  it('a complete psql-built copy of the generated history: baseline, then validate and migrate are clean, and a hand drop is named', async () => {
    const files = generatedHistory(3);
    const url = await applyAsPsql(files);
    const cwd = makeProject(files);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).exitCode).toBe(3);
    const adopted = await baseline({ cwd, env: single(url), set: 'data' });
    expect(adopted.error).toBeUndefined();
    const again = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(again.sets[0]!.problems).toEqual([]);
    expect(again.sets[0]!.applied).toEqual([]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    const problem = await afterHandDrop(
      url,
      cwd,
      'DROP FUNCTION workspace.label_text_1(text); DROP INDEX workspace.items_2_by_title; DROP TABLE workspace.items_1_notes',
    );
    // Credited to the file that creates them, through later renames.
    expect(problem.message).toContain('function workspace.label_text_1(text) (0018_views_1.sql)');
    expect(problem.message).toContain('index workspace.items_2_by_title (0024_swap_2.sql)');
    // Made in a guarded DO block: its SQL is read with the PL/pgSQL parser, so the file is named.
    expect(problem.message).toContain('table workspace.items_1_notes (0016_guarded_1.sql)');
  });
});

describe('validation costs the same whatever the length of the history', () => {
  /** Queries the driver sends for a no-op migrate and for validate, after `migrations` applied ones that drop and rename. */
  async function countQueries(migrations: number): Promise<{ migrate: number; validate: number }> {
    const url = await freshDatabase();
    const files: Record<string, string> = { ...SCHEMAS };
    for (let i = 2; i <= migrations; i++) {
      const sql =
        i % 3 === 0
          ? `ALTER TABLE IF EXISTS workspace.t${i - 1} RENAME TO r${i - 1};\n`
          : i % 3 === 1
            ? `DROP TABLE IF EXISTS workspace.r${i - 2};\nCREATE TABLE IF NOT EXISTS workspace.t${i} (id int);\n`
            : `CREATE TABLE IF NOT EXISTS workspace.t${i} (id int, v text);\nCREATE INDEX IF NOT EXISTS t${i}_v ON workspace.t${i} (v);\n`;
      files[`data/${String(i).padStart(4, '0')}_m.sql`] = sql;
    }
    const cwd = makeProject(files);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    // A spy on the real driver: every query sent is counted.
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
      const noop = spy.mock.calls.length;
      spy.mockClear();
      expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
      return { migrate: noop, validate: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  }

  // 300 against 10: a query per migration, or per few, would show thirty times over (npm run bench times 1,000).
  it('a no-op migrate and validate send as many queries at 300 applied migrations as at 10', async () => {
    const few = await countQueries(10);
    const many = await countQueries(300);
    expect(few.migrate).toBeGreaterThan(0);
    expect(many).toEqual(few);
  }, 180_000);
});

describe('a database tracked by schemata 0.1 (tracking format 1)', () => {
  // The tables as schemata 0.1 left them: one overwritten row per migration, with the parser's guess.
  const FORMAT1 = `CREATE SCHEMA schemata;
    CREATE TABLE schemata.migrations (set_name text NOT NULL, version text NOT NULL, name text NOT NULL, file text NOT NULL, checksum text NOT NULL,
      state text NOT NULL CHECK (state IN ('applied', 'running', 'failed')), applied_at timestamptz NOT NULL DEFAULT now(), duration_ms integer, objects jsonb,
      PRIMARY KEY (set_name, version))`;

  it('is read by validate, upgraded by the next migrate with its history kept, and its objects adopted and checked', async () => {
    const url = await freshDatabase();
    const files = {
      ...SCHEMAS,
      'data/002_t.sql': 'CREATE TABLE workspace.t (id int PRIMARY KEY);\n',
    };
    const cwd = makeProject(files);
    await query(url, `${FORMAT1}; ${files['data/001_schemas.sql']} ${files['data/002_t.sql']}`);
    const { discoverMigrations } = await import('../../src/config/discover.js');
    const discovered = discoverMigrations({
      name: 'data',
      dir: `${cwd}/database/data`,
      database: 'data',
      schemas: ['workspace', 'reference'],
    });
    for (const f of discovered) {
      await query(
        url,
        "INSERT INTO schemata.migrations VALUES ('data', $1, $2, $3, $4, 'applied', now() - interval '1 day', 5, NULL)",
        [f.version, f.name, f.file, f.checksum],
      );
    }
    const read = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(read.ok).toBe(true);
    expect(read.sets[0]!.warnings.join(' ')).toContain('written by schemata 0.1');

    writeFile(cwd, 'data/003_u.sql', 'CREATE TABLE workspace.u (id int);\n');
    const upgraded = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(upgraded.error).toBeUndefined();
    expect(upgraded.sets[0]!.applied.map((a) => a.file)).toEqual(['003_u.sql']);
    expect(
      await query(
        url,
        "SELECT version, event FROM schemata.migrations WHERE set_name = 'data' ORDER BY id",
      ),
    ).toEqual([
      { version: '1', event: 'applied' },
      { version: '2', event: 'applied' },
      { version: '3', event: 'applied' },
    ]);
    expect(await tableExists(url, 'schemata.migrations_format1')).toBe(true);
    const problem = await afterHandDrop(url, cwd, 'DROP TABLE workspace.t; DROP TABLE workspace.u');
    expect(problem.message).toContain('table workspace.t (002_t.sql)');
    expect(problem.message).toContain('table workspace.u (003_u.sql)');
  });
});
