import { describe, expect, it } from 'vitest';
import { baseline, validate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject } from '../support/project.js';

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
