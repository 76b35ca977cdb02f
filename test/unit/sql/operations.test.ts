import { describe, expect, it } from 'vitest';
import { describeRef, refKey } from '../../../src/sql/operations.js';
import { operationsOfSql } from '../operations-helpers.js';

const summary = (sql: string) =>
  operationsOfSql(sql).map((op) => (op.kind === 'create' || op.kind === 'drop' ? `${op.kind} ${describeRef(op.object)}` : `${op.kind} ${describeRef(op.from)} -> ${describeRef(op.to)}`));

describe('operationsOf', () => {
  it.each([
    ['CREATE TABLE with columns and a named constraint', "CREATE TABLE w.t (id int, CONSTRAINT t_ok CHECK (id > 0));", ['create table w.t', 'create column w.t.id', 'create constraint t_ok on w.t']],
    ['ALTER TABLE ADD/DROP COLUMN and ADD/DROP CONSTRAINT', 'ALTER TABLE w.t ADD COLUMN c int, DROP COLUMN d, ADD CONSTRAINT k UNIQUE (c), DROP CONSTRAINT j;', ['create column w.t.c', 'drop column w.t.d', 'create constraint k on w.t', 'drop constraint j on w.t']],
    ['a function by its input types, OUT left out', 'CREATE FUNCTION w.f(a int, OUT b text, VARIADIC c text[]) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$;', ['create function w.f(int4, text[])']],
    ['DROP FUNCTION without arguments', 'DROP FUNCTION w.f;', ['drop function w.f(...)']],
    ['renames of every kind', 'ALTER TYPE w.m RENAME TO n; ALTER INDEX w.i RENAME TO j; ALTER FUNCTION w.f(int) RENAME TO g; ALTER TABLE w.t RENAME CONSTRAINT a TO b; ALTER TABLE w.t RENAME COLUMN x TO y;', [
      'rename type w.m -> type w.n', 'rename index w.i -> index w.j', 'rename function w.f(int4) -> function w.g(int4)', 'rename constraint a on w.t -> constraint b on w.t', 'rename column w.t.x -> column w.t.y',
    ]],
    ['SET SCHEMA', 'ALTER TABLE w.t SET SCHEMA r; ALTER TYPE w.m SET SCHEMA r;', ['move table w.t -> table r.t', 'move type w.m -> type r.m']],
    ['triggers and policies', 'CREATE TRIGGER tg BEFORE UPDATE ON w.t FOR EACH ROW EXECUTE FUNCTION w.f(); CREATE POLICY p ON w.t USING (true); DROP TRIGGER tg ON w.t; DROP POLICY p ON w.t;', [
      'create trigger tg on w.t', 'create policy p on w.t', 'drop trigger tg on w.t', 'drop policy p on w.t',
    ]],
    ['a SET search_path qualifies what follows', 'SET search_path TO w, public; CREATE TABLE t (id int); RESET search_path; CREATE VIEW v AS SELECT 1;', ['create table w.t', 'create column w.t.id', 'create view v']],
  ])('%s', (_name, sql, expected) => {
    expect(summary(sql)).toEqual(expected);
  });

  it('keys: `int` and `integer` are one signature; an index is keyed by its schema, not its table; unqualified names through the creation schema', () => {
    const [a, b] = operationsOfSql('CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; DROP FUNCTION public.f(integer);');
    expect(a!.kind === 'create' && b!.kind === 'drop' && refKey(a.object, 'public') === refKey(b.object, 'public')).toBe(true);
    const [index, rename] = operationsOfSql('CREATE INDEX i ON w.t (id); ALTER INDEX w.i RENAME TO j;');
    expect(index!.kind === 'create' && rename!.kind === 'rename' && refKey(index.object) === refKey(rename.from)).toBe(true);
  });
});
