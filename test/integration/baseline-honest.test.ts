import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseline, migrate, validate } from '../../src/api.js';
import { runCli } from '../support/cli.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * SPEC §4.2 and the baseline paragraph: baseline never records what did not
 * run. The database is built by hand (as psql or the old scripts would), then
 * baseline is asked to adopt it.
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const SCHEMAS = 'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n';
const ITEMS = [
  'CREATE TABLE workspace.items (id int PRIMARY KEY, code text, title text);',
  'CREATE INDEX items_title_idx ON workspace.items (title);',
  'ALTER TABLE workspace.items ADD CONSTRAINT items_code_key UNIQUE (code);',
  'CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
  'CREATE TRIGGER items_touch BEFORE UPDATE ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.touch();',
  '',
].join('\n');

describe('baseline records only what the database has', () => {
  it('refuses a migration whose index, UNIQUE constraint and trigger were never made, naming them', async () => {
    const url = await freshDatabase();
    await query(url, SCHEMAS);
    await query(
      url,
      'CREATE TABLE workspace.items (id int PRIMARY KEY, code text, title text); CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
    );
    const cwd = makeProject({ 'data/001_schemas.sql': SCHEMAS, 'data/002_items.sql': ITEMS });
    const refused = await baseline({ cwd, env: single(url), set: 'data' });
    expect(refused.exitCode).toBe(3);
    expect(refused.error?.message).toContain('index workspace.items_title_idx (002_items.sql)');
    expect(refused.error?.message).toContain(
      'constraint items_code_key on workspace.items (002_items.sql)',
    );
    expect(refused.error?.message).toContain(
      'trigger items_touch on workspace.items (002_items.sql)',
    );
    expect(
      await query(url, "SELECT to_regclass('schemata.migrations') IS NULL AS nothing_recorded"),
    ).toEqual([{ nothing_recorded: true }]);
  });

  it('adopts the same database once it has them; a part a later DROP COLUMN may have taken along is not required', async () => {
    const url = await freshDatabase();
    await query(url, SCHEMAS);
    await query(url, ITEMS);
    await query(url, 'ALTER TABLE workspace.items DROP COLUMN code');
    const cwd = makeProject({
      'data/001_schemas.sql': SCHEMAS,
      'data/002_items.sql': ITEMS,
      'data/003_drop_code.sql': 'ALTER TABLE workspace.items DROP COLUMN code;\n',
    });
    const adopted = await baseline({ cwd, env: single(url), set: 'data' });
    expect(adopted.error).toBeUndefined();
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('a column that has the name of a table is not the table: renaming it moves nothing else', async () => {
    const url = await freshDatabase();
    const files = {
      'data/001_schemas.sql': SCHEMAS,
      'data/002_posts.sql':
        'CREATE TABLE workspace.post (id int PRIMARY KEY, body text);\nCREATE TABLE workspace.comments (id int PRIMARY KEY, post int);\n',
      'data/003_rename.sql': 'ALTER TABLE workspace.comments RENAME COLUMN post TO post_id;\n',
      'data/004_drop.sql': 'ALTER TABLE workspace.comments DROP COLUMN IF EXISTS post;\n',
    };
    for (const sql of Object.values(files)) await query(url, sql);
    const cwd = makeProject(files);
    const adopted = await baseline({ cwd, env: single(url), set: 'data' });
    expect(adopted.error).toBeUndefined();
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('a temporary table a migration uses is not demanded', async () => {
    const url = await freshDatabase();
    const files = {
      'data/001_schemas.sql': SCHEMAS,
      'data/002_copy.sql':
        'CREATE TABLE workspace.items (id int);\nCREATE TEMP TABLE staging (id int) ON COMMIT DROP;\nINSERT INTO workspace.items SELECT id FROM staging;\n',
    };
    await query(url, SCHEMAS);
    await query(url, 'CREATE TABLE workspace.items (id int)');
    const cwd = makeProject(files);
    const adopted = await baseline({ cwd, env: single(url), set: 'data' });
    expect(adopted.error).toBeUndefined();
  });
});

describe('--repair records a changed checksum only for an edit that changed nothing', () => {
  const files = {
    'data/001_schemas.sql': SCHEMAS,
    'data/002_items.sql': 'CREATE TABLE workspace.items (id int PRIMARY KEY, title text);\n',
    'data/003_drop_title.sql': 'ALTER TABLE workspace.items DROP COLUMN title;\n',
  };

  it('an applied file edited to add a column: repair names it and records nothing; the hint works as typed', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(files);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    writeFile(
      cwd,
      'data/002_items.sql',
      'CREATE TABLE workspace.items (id int PRIMARY KEY, title text);\nALTER TABLE workspace.items ADD COLUMN note text;\n',
    );
    const refused = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(refused.exitCode).toBe(3);
    const problem = refused.sets[0]?.problems.find((p) => p.kind === 'repair-refused');
    expect(problem?.message).toContain(
      'database/data/002_items.sql changed since it was applied, and as it is now it makes column workspace.items.note, which the database does not have',
    );
    expect(problem?.hint).toBe(
      'Give database/data/002_items.sql back the content it was applied with, and put the new statements in a new migration (schemata create data add_note); then run: schemata migrate data',
    );
    const events = await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM schemata.migrations WHERE event = 'repaired'",
    );
    expect(events).toEqual([{ n: 0 }]);

    // The hint, followed: the file back as applied, the new statement in a new migration made by create.
    writeFile(cwd, 'data/002_items.sql', files['data/002_items.sql']);
    const created = await runCli(['create', 'data', 'add_note'], { cwd, env: single(url) });
    expect(created.code).toBe(0);
    const path = created.stdout.trim().split('\n').pop() ?? '';
    appendFileSync(join(cwd, path), 'ALTER TABLE workspace.items ADD COLUMN note text;\n');
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    expect(
      await query(
        url,
        "SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'workspace.items'::regclass AND attname = 'note'",
      ),
    ).toEqual([{ n: 1 }]);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it('an edit whose objects a later applied migration dropped is only a new checksum', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(files);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    writeFile(cwd, 'data/002_items.sql', `-- the items\n${files['data/002_items.sql']}`);
    const repaired = await migrate({ cwd, env: single(url), sets: ['data'], repair: true });
    expect(repaired.error).toBeUndefined();
    expect(repaired.sets[0]?.warnings.join('\n')).toContain(
      '002_items.sql changed, but everything it made exists: its new checksum is recorded',
    );
  });
});

describe("drift's hint on a tracked database never records what did not run", () => {
  it('a pending migration whose table exists but whose index, UNIQUE constraint and trigger do not: the hint, run as typed, records nothing unmade', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({ 'data/001_schemas.sql': SCHEMAS });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    // Made by hand ahead of its migration, in part: the table and the function, not the rest.
    await query(
      url,
      'CREATE TABLE workspace.items (id int PRIMARY KEY, code text, title text); CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
    );
    writeFile(cwd, 'data/002_items.sql', ITEMS);
    const drift = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(drift.exitCode).toBe(3);
    const problem = drift.sets[0]?.problems.find((p) => p.kind === 'drift');
    expect(problem?.message).toContain('creates table workspace.items');
    // Its hint does not offer baseline: that would record an index, a constraint and a trigger never made.
    expect(problem?.hint).toBe(
      'Make it re-runnable (IF NOT EXISTS, OR REPLACE, or a guarded DO block): the database lacks index workspace.items_title_idx (database/data/002_items.sql:2), so recording the migration without running it would record what never ran.',
    );
    // Typed anyway, baseline records nothing.
    const typed = await runCli(['baseline', 'data', '--version', '2'], { cwd, env: single(url) });
    expect(typed.code).toBe(3);
    expect(typed.stderr).toContain('index workspace.items_title_idx (002_items.sql)');
    const versions = await query<{ version: string }>(
      url,
      'SELECT DISTINCT version FROM schemata.migrations ORDER BY version',
    );
    expect(versions.map((v) => v.version)).toEqual(['1']);
    // The hint, followed: the file made re-runnable, migrate makes what was missing and validate is clean.
    writeFile(
      cwd,
      'data/002_items.sql',
      ITEMS.replace('CREATE TABLE workspace', 'CREATE TABLE IF NOT EXISTS workspace').replace(
        'CREATE FUNCTION',
        'CREATE OR REPLACE FUNCTION',
      ),
    );
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });

  it("baseline's own hint on a file made in part names what is missing and a command that works as typed, not migrate's drift", async () => {
    const url = await freshDatabase();
    const cwd = makeProject({ 'data/001_schemas.sql': SCHEMAS });
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(
      url,
      'CREATE TABLE workspace.items (id int PRIMARY KEY, code text, title text); CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
    );
    writeFile(cwd, 'data/002_items.sql', ITEMS);
    const refused = await runCli(['baseline', 'data'], { cwd, env: single(url) });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      '002_items.sql is made here in part: the database has table workspace.items, function workspace.touch() but lacks index workspace.items_title_idx',
    );
    // Not the bare migrate of before: it stops on the table that exists (drift), and its hint leads back here.
    expect(refused.stderr).not.toContain('Run the migrations instead');
    const typed = /then run: (npx schemata baseline [^;]+);/.exec(refused.stderr)?.[1];
    expect(typed).toBe('npx schemata baseline data --version 2');
    // Followed: what is missing made by hand, then the command as typed records 002, and validate is clean.
    await query(
      url,
      'CREATE INDEX items_title_idx ON workspace.items (title); ALTER TABLE workspace.items ADD CONSTRAINT items_code_key UNIQUE (code); CREATE TRIGGER items_touch BEFORE UPDATE ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.touch();',
    );
    const followed = await runCli(typed!.split(' ').slice(2), { cwd, env: single(url) });
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    const versions = await query<{ version: string }>(
      url,
      'SELECT DISTINCT version FROM schemata.migrations ORDER BY version',
    );
    expect(versions.map((v) => v.version)).toEqual(['1', '2']);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });
  it('on an untracked database, the files before it are offered first, then the same two ways for the file made in part, each working as typed', async () => {
    const url = await freshDatabase();
    const cwd = makeProject({ 'data/001_schemas.sql': SCHEMAS, 'data/002_items.sql': ITEMS });
    await query(
      url,
      'CREATE SCHEMA workspace; CREATE SCHEMA reference; CREATE TABLE workspace.items (id int PRIMARY KEY, code text, title text); CREATE FUNCTION workspace.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;',
    );
    const refused = await runCli(['baseline', 'data'], { cwd, env: single(url) });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      'Baseline the migrations whose objects exist, up to 001_schemas.sql: npx schemata baseline data --version 1; then 002_items.sql is made here in part: the database has table workspace.items, function workspace.touch() but lacks index workspace.items_title_idx',
    );
    const commands = [
      ...refused.stderr.matchAll(/(npx schemata (?:baseline|migrate) [^;\n]+?)(?=;|\n|$)/g),
    ].map((m) => m[1]!);
    expect(commands).toEqual([
      'npx schemata baseline data --version 1',
      'npx schemata baseline data --version 2',
      'npx schemata migrate data',
    ]);
    const first = await runCli(commands[0]!.split(' ').slice(2), { cwd, env: single(url) });
    expect(first.code).toBe(0);
    // What is missing made by hand, then the second command as typed records 002.
    await query(
      url,
      'CREATE INDEX items_title_idx ON workspace.items (title); ALTER TABLE workspace.items ADD CONSTRAINT items_code_key UNIQUE (code); CREATE TRIGGER items_touch BEFORE UPDATE ON workspace.items FOR EACH ROW EXECUTE FUNCTION workspace.touch();',
    );
    const second = await runCli(commands[1]!.split(' ').slice(2), { cwd, env: single(url) });
    expect(second.code).toBe(0);
    const versions = await query<{ version: string }>(
      url,
      'SELECT DISTINCT version FROM schemata.migrations ORDER BY version',
    );
    expect(versions.map((v) => v.version)).toEqual(['1', '2']);
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).ok).toBe(true);
  });
});
