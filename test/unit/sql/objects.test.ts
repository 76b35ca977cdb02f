import { beforeAll, describe, expect, it } from 'vitest';
import { effectsOf, objectKey } from '../../../src/sql/objects.js';
import { loadParser } from '../../../src/sql/parse.js';
import { parseFile, type Parser } from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

const read = (sql: string) => {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return effectsOf(parsed.statements, false);
};
const keys = (refs: Parameters<typeof objectKey>[0][]) => refs.map(objectKey);

describe('effectsOf', () => {
  it.each([
    ['CREATE SCHEMA IF NOT EXISTS s;', ['schema:s'], []],
    ['CREATE TABLE s.t (a int, b text);', ['relation:s.t', 'column:s.t.a', 'column:s.t.b'], ['relation:s.t']],
    ['CREATE TABLE IF NOT EXISTS s.t (a int);', ['relation:s.t', 'column:s.t.a'], []],
    ['CREATE INDEX IF NOT EXISTS i ON s.t (a);', ['relation:s.i'], []],
    ['CREATE UNIQUE INDEX i ON s.t (a);', ['relation:s.i'], ['relation:s.i']],
    ['CREATE INDEX ON s.t (a);', [], []],
    ['CREATE OR REPLACE VIEW s.v AS SELECT 1;', ['relation:s.v'], []],
    ['CREATE MATERIALIZED VIEW s.m AS SELECT 1;', ['relation:s.m'], ['relation:s.m']],
    ['CREATE SEQUENCE IF NOT EXISTS s.q;', ['relation:s.q'], []],
    ['CREATE FUNCTION s.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;', ['function:s.f'], ['function:s.f']],
    ["CREATE TYPE s.e AS ENUM ('a');", ['type:s.e'], ['type:s.e']],
    ['CREATE DOMAIN s.d AS int;', ['type:s.d'], ['type:s.d']],
    ['CREATE EXTENSION IF NOT EXISTS pgcrypto;', ['extension:pgcrypto'], []],
    ['ALTER TABLE s.t ADD COLUMN c int;', ['column:s.t.c'], ['column:s.t.c']],
    ['ALTER TABLE s.t ADD COLUMN IF NOT EXISTS c int;', ['column:s.t.c'], []],
    ['SET search_path TO w;\nCREATE TABLE t (a int);', ['relation:w.t', 'column:w.t.a'], ['relation:w.t']],
    ['CREATE TABLE t (a int);', ['relation:.t', 'column:.t.a'], ['relation:.t']],
  ])('%s creates %j (strict: %j)', (sql, creates, strict) => {
    const { effects, strictCreates } = read(sql);
    expect(keys(effects.creates)).toEqual(creates);
    expect(keys(strictCreates.map((c) => c.ref))).toEqual(strict);
  });

  it.each([
    ['DROP TABLE s.t, u;', ['relation:s.t', 'relation:.u'], false],
    ['DROP SCHEMA s CASCADE;', ['schema:s'], true],
    ['DROP INDEX s.i;', ['relation:s.i'], false],
    ['DROP FUNCTION s.f(int);', ['function:s.f'], false],
    ['DROP TYPE s.e;', ['type:s.e'], false],
    ['DROP EXTENSION pgcrypto;', ['extension:pgcrypto'], false],
    ['ALTER TABLE s.t DROP COLUMN c;', ['column:s.t.c'], false],
  ])('%s drops %j', (sql, drops, cascade) => {
    const { effects } = read(sql);
    expect(keys(effects.drops)).toEqual(drops);
    expect(Boolean(effects.cascade)).toBe(cascade);
  });

  it('reads renames of tables, columns, indexes and schemas', () => {
    const { effects } = read('ALTER TABLE s.t RENAME TO u;\nALTER TABLE s.u RENAME COLUMN a TO b;\nALTER INDEX s.i RENAME TO j;\nALTER SCHEMA s RENAME TO r;');
    expect(effects.renames.map((r) => [objectKey(r.from), objectKey(r.to)])).toEqual([
      ['relation:s.t', 'relation:s.u'],
      ['column:s.u.a', 'column:s.u.b'],
      ['relation:s.i', 'relation:s.j'],
      ['schema:s', 'schema:r'],
    ]);
  });
});
