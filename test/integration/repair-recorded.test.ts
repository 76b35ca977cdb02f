import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * SPEC §4 and §5: --repair decides "would this change data twice" from what
 * the migration's transaction measured when it ran, not from its text. Each
 * file below changes rows in a way its text does not show (a procedure or a
 * function of an earlier migration, a trigger fired by ON CONFLICT DO
 * NOTHING) or shows only as a type change (USING), and also creates an
 * index; a DBA drops the index; the rows are read back from the server after
 * the repair.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });

const BASE = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_items.sql': [
    'CREATE TABLE workspace.items (id int PRIMARY KEY, price numeric);',
    'CREATE TABLE workspace.totals (id int PRIMARY KEY, n int);',
    'INSERT INTO workspace.items VALUES (1, 3), (2, 5);',
    'INSERT INTO workspace.totals VALUES (1, 0);',
    // Each UPDATE has a WHERE: without one the forecast reads the body and refuses it before the run (SPEC §5).
    'CREATE PROCEDURE workspace.to_cents() LANGUAGE sql AS $$ UPDATE workspace.items SET price = price * 100 WHERE id > 0 $$;',
    'CREATE FUNCTION workspace.bump() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE workspace.items SET price = price + 1 WHERE id > 0; END $$;',
    'CREATE FUNCTION workspace.count_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE workspace.totals SET n = n + 1 WHERE id = 1; RETURN NEW; END $$;',
    'CREATE TRIGGER items_counted AFTER INSERT ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.count_item();',
    '',
  ].join('\n'),
};

const prices = async (url: string) =>
  (await query<{ price: string }>(url, 'SELECT price::text FROM workspace.items ORDER BY id')).map(
    (r) => Number(r.price),
  );
const total = async (url: string) =>
  (await query<{ n: number }>(url, 'SELECT n FROM workspace.totals WHERE id = 1'))[0]?.n;
const indexExists = async (url: string) =>
  (
    await query<{ ok: boolean }>(
      url,
      "SELECT to_regclass('workspace.items_by_price') IS NOT NULL AS ok",
    )
  )[0]?.ok;

async function appliedThenIndexDropped(file: string) {
  const url = await freshDatabase();
  const cwd = makeProject(BASE);
  expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
  writeFile(cwd, 'data/003_change.sql', file);
  expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
  const after = { prices: await prices(url), total: await total(url) };
  await query(url, 'DROP INDEX workspace.items_by_price');
  expect((await validate({ cwd, env: single(url), sets: ['data'] })).exitCode).toBe(3);
  return { url, cwd, after };
}

const INDEX = 'CREATE INDEX items_by_price ON workspace.items (price);\n';

describe('--repair reads what the migration measured', () => {
  it.each([
    [
      'CALL of a procedure an earlier migration made',
      `CALL workspace.to_cents();\n${INDEX}`,
      [300, 500],
      0,
    ],
    [
      'the same CALL in a DO block',
      `DO $$ BEGIN CALL workspace.to_cents(); END $$;\n${INDEX}`,
      [300, 500],
      0,
    ],
    [
      'a PL/pgSQL function an earlier migration made, called by SELECT',
      `SELECT workspace.bump();\n${INDEX}`,
      [4, 6],
      0,
    ],
    [
      'the function called unqualified through SET search_path',
      `SET search_path = workspace;\nSELECT bump();\n${INDEX}`,
      [4, 6],
      0,
    ],
    [
      'INSERT ... ON CONFLICT DO NOTHING whose trigger updates another table',
      `INSERT INTO workspace.items VALUES (3, 7) ON CONFLICT DO NOTHING;\n${INDEX}`,
      [3, 5, 7],
      1,
    ],
  ])('%s: only the index is made again', async (_name, file, prices_, total_) => {
    const { url, cwd, after } = await appliedThenIndexDropped(file);
    expect(after).toEqual({ prices: prices_, total: total_ });

    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    const lastLine = file.trimEnd().split('\n').length;
    // The file's SET search_path runs again too: the index's statement resolves its names as when it ran.
    const runs = file.startsWith('SET search_path') ? `lines 1, ${lastLine}` : `line ${lastLine}`;
    expect(repaired.sets[0]?.warnings.join('\n')).toContain(
      `003_change.sql changes rows, so only what re-creates the missing objects runs again: ${runs}.`,
    );
    expect({ prices: await prices(url), total: await total(url) }).toEqual(after);
    expect(await indexExists(url)).toBe(true);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('ALTER COLUMN ... TYPE ... USING that computes the values: the conversion is not done twice', async () => {
    const { url, cwd, after } = await appliedThenIndexDropped(
      `-- schemata:force\nALTER TABLE workspace.items ALTER COLUMN price TYPE numeric(10, 2) USING price / 100;\n${INDEX}`,
    );
    expect(after.prices).toEqual([0.03, 0.05]);
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]?.warnings.join('\n')).toContain(
      '003_change.sql changes rows, so only what re-creates the missing objects runs again: line 3',
    );
    expect(await prices(url)).toEqual([0.03, 0.05]);
    expect(await indexExists(url)).toBe(true);
  });

  it('a part run leaves the first run on record: a second repair still runs only the index', async () => {
    const { url, cwd } = await appliedThenIndexDropped(`CALL workspace.to_cents();\n${INDEX}`);
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'], repair: true })).error,
    ).toBeUndefined();
    await query(url, 'DROP INDEX workspace.items_by_price');
    expect(
      (await migrate({ cwd, env: single(url), sets: ['data'], repair: true })).error,
    ).toBeUndefined();
    expect(await prices(url)).toEqual([300, 500]);
    expect(await indexExists(url)).toBe(true);
  });

  it('a file that changed no rows when it ran runs again only what re-creates the missing', async () => {
    const { url, cwd } = await appliedThenIndexDropped(
      `SELECT workspace.bump() WHERE false;\n${INDEX}`,
    );
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]?.warnings.join('\n')).toContain(
      '003_change.sql runs again only what re-creates the missing objects: line 2.',
    );
    expect(await prices(url)).toEqual([3, 5]);
    expect(await indexExists(url)).toBe(true);
  });
});

/*
 * SPEC §4, --repair: a file that cannot run again whole (it creates, without
 * IF NOT EXISTS, what still exists, as Prisma and drizzle write every file)
 * runs only the statements that re-create what is missing.
 */
describe('--repair of a file that is not re-runnable', () => {
  const prismaLike = [
    'CREATE TABLE "workspace"."User" ("id" SERIAL NOT NULL, "email" TEXT NOT NULL, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));',
    'CREATE TABLE "workspace"."Post" ("id" SERIAL NOT NULL, "title" TEXT NOT NULL, "authorId" INTEGER NOT NULL, CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));',
    'CREATE UNIQUE INDEX "User_email_key" ON "workspace"."User"("email");',
    'CREATE INDEX "Post_title_idx" ON "workspace"."Post"("title");',
    'ALTER TABLE "workspace"."Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "workspace"."User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
    '',
  ].join('\n');

  it('one table dropped by hand comes back with its index and foreign key; the other keeps its rows', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_init.sql': prismaLike,
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(
      url,
      `INSERT INTO workspace."User" (email) VALUES ('a@example.com'), ('b@example.com')`,
    );
    await query(url, 'DROP TABLE workspace."Post"');

    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]?.warnings.join('\n')).toContain(
      '002_init.sql creates what still exists, so only what re-creates the missing objects runs again: lines 2, 4, 5',
    );
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace."User"')).toEqual([{ n: 2 }]);
    expect(
      await query(url, `SELECT to_regclass('workspace."Post_title_idx"') IS NOT NULL AS ok`),
    ).toEqual([{ ok: true }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('what only a function of an earlier migration made: repair stops naming it, without offering a whole run that would fail', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_maker.sql': `CREATE FUNCTION workspace.make_it() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'CREATE TABLE workspace.made (id int)'; END $$;\n`,
      'data/003_init.sql': 'CREATE TABLE workspace.kept (id int);\nSELECT workspace.make_it();\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(url, 'DROP TABLE workspace.made');
    const stopped = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(stopped.exitCode).toBe(3);
    const problem = stopped.sets[0]?.problems.find((p) => p.kind === 'repair-refused');
    expect(problem?.message).toContain(
      'database/data/003_init.sql creates what still exists, so it cannot run again whole; no statement of the file names table workspace.made',
    );
    expect(problem?.hint).toBe(
      'Re-create table workspace.made by hand (as database/data/003_init.sql does), then check with: schemata validate data',
    );
  });
});

/*
 * SPEC §4, --repair replays an object's history: every migration that made
 * or renamed it, in order, only the statements that bring it back as it is
 * expected now.
 */
describe('--repair replays what later migrations did to what it makes again', () => {
  it('a table 002 created and 003 renamed comes back under its new name, with its index', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_items.sql':
        'CREATE TABLE workspace.items (id int PRIMARY KEY, title text);\nCREATE INDEX items_title_idx ON workspace.items (title);\n',
      'data/003_rename.sql': 'ALTER TABLE workspace.items RENAME TO products;\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(url, 'DROP TABLE workspace.products');
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]?.warnings.join('\n')).toContain(
      '003_rename.sql renamed, moved or altered what is made again: line 1 run again',
    );
    expect(
      await query(
        url,
        "SELECT to_regclass('workspace.products') IS NOT NULL AS products, to_regclass('workspace.items') IS NULL AS no_stray",
      ),
    ).toEqual([{ products: true, no_stray: true }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('a table comes back without the column a later migration dropped', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_items.sql':
        'CREATE TABLE workspace.items (id int PRIMARY KEY, legacy text NOT NULL);\n',
      'data/003_drop_legacy.sql': 'ALTER TABLE workspace.items DROP COLUMN legacy;\n',
      'data/004_note.sql': 'ALTER TABLE workspace.items ADD COLUMN note text;\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(url, 'DROP TABLE workspace.items');
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    const columns = await query<{ attname: string }>(
      url,
      "SELECT attname FROM pg_attribute WHERE attrelid = 'workspace.items'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    );
    expect(columns.map((c) => c.attname)).toEqual(['id', 'note']);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it("a table comes back with a later migration's DROP NOT NULL, SET and DROP DEFAULT, and a later column's SET NOT NULL; no row changed twice", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_items.sql':
        "CREATE TABLE workspace.items (id int PRIMARY KEY, status text NOT NULL, note text DEFAULT 'none');\n" +
        'CREATE TABLE workspace.log (id int PRIMARY KEY, n int);\nINSERT INTO workspace.log VALUES (1, 0);\n',
      'data/003_relax.sql':
        "ALTER TABLE workspace.items ALTER COLUMN status DROP NOT NULL, ALTER COLUMN status SET DEFAULT 'new';\n" +
        'UPDATE workspace.log SET n = n + 1 WHERE id = 1;\n' +
        'ALTER TABLE workspace.items ALTER COLUMN note DROP DEFAULT;\n',
      'data/004_rank.sql': 'ALTER TABLE workspace.items ADD COLUMN rank int;\n',
      'data/005_rank_required.sql':
        'ALTER TABLE workspace.items ALTER COLUMN rank SET DEFAULT 1;\nALTER TABLE workspace.items ALTER COLUMN rank SET NOT NULL;\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    const columns = () =>
      query<{ column_name: string; is_nullable: string; column_default: string | null }>(
        url,
        "SELECT column_name, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'workspace' AND table_name = 'items' ORDER BY ordinal_position",
      );
    const before = await columns();
    expect(before).toEqual([
      { column_name: 'id', is_nullable: 'NO', column_default: null },
      { column_name: 'status', is_nullable: 'YES', column_default: "'new'::text" },
      { column_name: 'note', is_nullable: 'YES', column_default: null },
      { column_name: 'rank', is_nullable: 'NO', column_default: '1' },
    ]);
    await query(url, 'DROP TABLE workspace.items');
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.sets[0]!.problems).toEqual([]);
    expect(repaired.error).toBeUndefined();
    const notes = repaired.sets[0]!.warnings.join('\n');
    expect(notes).toContain(
      '003_relax.sql renamed, moved or altered what is made again: lines 1, 3 run again',
    );
    // 005 runs again whole where PostgreSQL 18 keeps its NOT NULL as a constraint it made, its two lines otherwise.
    expect(notes).toMatch(/005_rank_required.sql (runs again|renamed)/);
    expect(await columns()).toEqual(before);
    // From the server: the NOT NULL is gone from pg_attribute too, and the default is the later one.
    expect(
      await query(
        url,
        "SELECT attname, attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = 'workspace.items'::regclass AND a.attname IN ('status', 'note') ORDER BY a.attnum",
      ),
    ).toEqual([
      { attname: 'status', attnotnull: false, def: "'new'::text" },
      { attname: 'note', attnotnull: false, def: null },
    ]);
    expect(await query(url, 'SELECT n FROM workspace.log')).toEqual([{ n: 1 }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it.each([
    ['qualified, in a transaction', 'workspace."Items"', ''],
    [
      'unqualified through SET search_path, outside a transaction',
      '"Items"',
      '-- schemata:no-transaction\nSET search_path TO workspace;\n',
    ],
  ])(
    'a table comes back with the column types later migrations gave it (%s); no row changed twice',
    async (_name, table, preamble) => {
      const url = await freshDatabase();
      const cwd = makeProject({
        'data/001_schemas.sql': BASE['data/001_schemas.sql'],
        'data/002_items.sql':
          'CREATE TABLE workspace."Items" ("Id" int PRIMARY KEY, "Price" int, code varchar(5) NOT NULL, tags text);\n' +
          'CREATE TABLE workspace.log (id int PRIMARY KEY, n int);\nINSERT INTO workspace.log VALUES (1, 0);\n',
        'data/003_cents.sql': `${preamble}ALTER TABLE ${table} ALTER COLUMN "Price" TYPE numeric(12, 2) USING "Price" / 100.0;\n`,
        'data/004_longer.sql':
          `${preamble}UPDATE workspace.log SET n = n + 1 WHERE id = 1;\n` +
          `ALTER TABLE ${table} ALTER COLUMN code TYPE varchar(40), ALTER COLUMN code DROP NOT NULL;\n` +
          `ALTER TABLE ${table} ALTER COLUMN tags TYPE text[] USING string_to_array(tags, ','), ALTER COLUMN tags SET DEFAULT '{}';\n`,
      });
      expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
      const columns = () =>
        query<{ attname: string; type: string; attnotnull: boolean; def: string | null }>(
          url,
          `SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = 'workspace."Items"'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        );
      const before = await columns();
      expect(before).toEqual([
        { attname: 'Id', type: 'integer', attnotnull: true, def: null },
        { attname: 'Price', type: 'numeric(12,2)', attnotnull: false, def: null },
        { attname: 'code', type: 'character varying(40)', attnotnull: false, def: null },
        { attname: 'tags', type: 'text[]', attnotnull: false, def: "'{}'::text[]" },
      ]);
      await query(url, 'DROP TABLE workspace."Items"');
      const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
      expect(repaired.sets[0]!.problems).toEqual([]);
      expect(repaired.error).toBeUndefined();
      expect(await columns()).toEqual(before);
      expect(await query(url, 'SELECT n FROM workspace.log')).toEqual([{ n: 1 }]);
      expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
    },
  );
});

/*
 * SPEC §4, --repair: a constraint written inside the CREATE TABLE of a table
 * still there comes back as ALTER TABLE ... ADD CONSTRAINT, built from that
 * definition, as later migrations left it.
 */
describe('--repair adds a constraint of a CREATE TABLE to the table still there', () => {
  it('a key, a CHECK and a foreign key to itself, quoted as Prisma writes them; later a column, the constraint and the table renamed outside a transaction', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_team.sql':
        'CREATE TABLE "workspace"."Team" ("id" SERIAL NOT NULL, "name" TEXT NOT NULL, "parentId" INTEGER, "size" INTEGER NOT NULL,\n' +
        '  CONSTRAINT "Team_pkey" PRIMARY KEY ("id"), CONSTRAINT "Team_size_check" CHECK ("size" > 0),\n' +
        '  CONSTRAINT "Team_parent_fkey" FOREIGN KEY ("parentId") REFERENCES "workspace"."Team"("id") ON DELETE SET NULL);\n' +
        'CREATE TABLE workspace.log (id int PRIMARY KEY, n int);\nINSERT INTO workspace.log VALUES (1, 0);\n',
      'data/003_rename.sql': [
        '-- schemata:no-transaction',
        'SET search_path TO workspace;',
        'ALTER TABLE "Team" RENAME COLUMN "size" TO "headcount";',
        'ALTER TABLE "Team" RENAME CONSTRAINT "Team_size_check" TO "Team_headcount_check";',
        'ALTER TABLE "Team" RENAME TO "Squad";',
        'UPDATE workspace.log SET n = n + 1 WHERE id = 1;',
        '',
      ].join('\n'),
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(
      url,
      `INSERT INTO workspace."Squad" ("name", "parentId", "headcount") VALUES ('a', NULL, 3), ('b', 1, 5)`,
    );
    const constraints = () =>
      query<{ conname: string; def: string }>(
        url,
        `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'workspace."Squad"'::regclass AND contype <> 'n' ORDER BY conname`,
      );
    const before = await constraints();
    expect(before.map((c) => c.conname)).toEqual([
      'Team_headcount_check',
      'Team_parent_fkey',
      'Team_pkey',
    ]);
    await query(
      url,
      'ALTER TABLE workspace."Squad" DROP CONSTRAINT "Team_headcount_check", DROP CONSTRAINT "Team_parent_fkey", DROP CONSTRAINT "Team_pkey"',
    );
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).exitCode).toBe(3);

    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.sets[0]!.problems).toEqual([]);
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '002_team.sql changes rows, so only what re-creates the missing objects runs again: line 1.',
    );
    expect(repaired.sets[0]!.warnings.join('\n')).toContain(
      '002_team.sql:1 runs as ALTER TABLE workspace."Squad" ADD CONSTRAINT',
    );
    expect(await constraints()).toEqual(before);
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace."Squad"')).toEqual([
      { n: 2 },
    ]);
    expect(await query(url, 'SELECT n FROM workspace.log')).toEqual([{ n: 1 }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('constraints written on its columns, named and unnamed, as drizzle-kit writes them; the table renamed since, its index kept', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({
      'data/001_schemas.sql': BASE['data/001_schemas.sql'],
      'data/002_clubs.sql':
        'SET search_path TO workspace;\n' +
        'CREATE TABLE IF NOT EXISTS "clubs" ("id" serial PRIMARY KEY NOT NULL, "code" text CONSTRAINT "code_short" CHECK (length("code") < 5) UNIQUE, "owner" int REFERENCES "clubs" ("id"));\n' +
        'CREATE INDEX IF NOT EXISTS "clubs_owner_idx" ON "clubs" ("owner");\n',
      'data/003_rename.sql': 'ALTER TABLE workspace.clubs RENAME TO teams;\n',
    });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(url, "INSERT INTO workspace.teams (code, owner) VALUES ('a', NULL), ('b', 1)");
    const constraints = () =>
      query<{ conname: string; def: string }>(
        url,
        "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'workspace.teams'::regclass AND contype <> 'n' ORDER BY conname",
      );
    const before = await constraints();
    expect(before.map((c) => c.conname)).toEqual([
      'clubs_code_key',
      'clubs_owner_fkey',
      'clubs_pkey',
      'code_short',
    ]);
    await query(
      url,
      'ALTER TABLE workspace.teams DROP CONSTRAINT clubs_owner_fkey, DROP CONSTRAINT clubs_pkey, DROP CONSTRAINT clubs_code_key, DROP CONSTRAINT code_short',
    );
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.sets[0]!.problems).toEqual([]);
    expect(repaired.error).toBeUndefined();
    expect(await constraints()).toEqual(before);
    expect(await query(url, 'SELECT count(*)::int AS n FROM workspace.teams')).toEqual([{ n: 2 }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });
});
