import { describe, expect, it } from 'vitest';
import { migrate, validate } from '../../src/api.js';
import { freshDatabase, query } from '../support/db.js';
import { makeProject, writeFile } from '../support/project.js';

/*
 * SPEC §4.2, drift: judged as PostgreSQL runs the files. A DROP takes along
 * what depends on it (a table its indexes, constraints and triggers; a
 * schema dropped with CASCADE everything in it), and a temporary table never
 * clashes with a permanent one. None of these is "already exists".
 */

const single = (url: string) => ({ PRIMARY_DATABASE_URL: url });
const SCHEMAS = {
  'data/001_schemas.sql':
    'CREATE SCHEMA IF NOT EXISTS workspace;\nCREATE SCHEMA IF NOT EXISTS reference;\n',
  'data/002_tables.sql': [
    'CREATE TABLE workspace.t (id int PRIMARY KEY, title text);',
    'CREATE INDEX t_title_idx ON workspace.t (title);',
    'CREATE SCHEMA scratch;',
    'CREATE TABLE scratch.work (id int);',
    'CREATE INDEX work_id_idx ON scratch.work (id);',
    '',
  ].join('\n'),
};

describe('drift follows what a drop takes along', () => {
  it.each([
    [
      'DROP TABLE IF EXISTS t, then CREATE TABLE t and CREATE INDEX t_idx',
      'DROP TABLE IF EXISTS workspace.t;\nCREATE TABLE workspace.t (id int PRIMARY KEY, title text);\nCREATE INDEX t_title_idx ON workspace.t (title);\n',
    ],
    [
      'the same, unqualified through SET search_path',
      'SET search_path = workspace;\nDROP TABLE IF EXISTS t;\nCREATE TABLE t (id int PRIMARY KEY, title text);\nCREATE INDEX t_title_idx ON t (title);\n',
    ],
    [
      'a scratch schema rebuilt with DROP SCHEMA ... CASCADE',
      'DROP SCHEMA IF EXISTS scratch CASCADE;\nCREATE SCHEMA scratch;\nCREATE TABLE scratch.work (id int);\nCREATE INDEX work_id_idx ON scratch.work (id);\n',
    ],
    [
      "a temporary table with a permanent table's name",
      'SET search_path = workspace;\nCREATE TEMP TABLE t (id int) ON COMMIT DROP;\nINSERT INTO t VALUES (1);\n',
    ],
  ])('%s: no drift, it applies, and validate is clean', async (_name, sql) => {
    const url = await freshDatabase();
    const cwd = makeProject(SCHEMAS);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    writeFile(cwd, 'data/003_again.sql', sql);
    const planned = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(planned.sets[0]?.problems).toEqual([]);
    const applied = await migrate({ cwd, env: single(url), sets: ['data'] });
    expect(applied.error).toBeUndefined();
    expect((await validate({ cwd, env: single(url), sets: ['data'] })).sets[0]?.problems).toEqual(
      [],
    );
  });

  it('an index whose table the file does not drop is still drift', async () => {
    const url = await freshDatabase();
    const cwd = makeProject(SCHEMAS);
    expect((await migrate({ cwd, env: single(url), sets: ['data'] })).error).toBeUndefined();
    await query(url, 'CREATE TABLE workspace.other (id int)');
    writeFile(
      cwd,
      'data/003_again.sql',
      'DROP TABLE IF EXISTS workspace.other;\nCREATE INDEX t_title_idx ON workspace.t (title);\n',
    );
    const planned = await validate({ cwd, env: single(url), sets: ['data'] });
    expect(planned.sets[0]?.problems.map((p) => p.kind)).toEqual(['drift']);
    expect(planned.sets[0]?.problems[0]?.message).toContain(
      '003_again.sql:2:1 creates index workspace.t_title_idx',
    );
  });
});
