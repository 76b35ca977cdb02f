import { describe, expect, it } from 'vitest';
import { snapshotScope } from '../../../src/model/snapshot.js';
import { mentionedNames } from '../../../src/sql/footprint.js';
import { operationsOf } from '../../../src/sql/operations.js';
import { loadParser } from '../../../src/sql/parse.js';
import { parseFile } from '../../../src/sql/statements.js';

const parser = await loadParser();

/** What the snapshot around `sql` covers, with `functions` the non-system functions the catalog has (null: not read). */
function scopeOf(sql: string, functions: string[] | null = []): 'all' | readonly string[] {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return snapshotScope(
    mentionedNames(parsed.statements, parser),
    operationsOf(parsed.statements, parser),
    functions === null ? undefined : new Set(functions),
  );
}

describe('the catalog snapshot around a migration', () => {
  it('covers the names its DDL mentions, not the rows it writes', () => {
    const scope = scopeOf(
      "CREATE TABLE workspace.t (id int REFERENCES workspace.parent);\nINSERT INTO workspace.t VALUES (1);\nINSERT INTO workspace.other SELECT 'literal_value';\n",
    );
    expect(scope).not.toBe('all');
    expect(scope).toEqual(expect.arrayContaining(['workspace', 't']));
    expect(scope).not.toContain('other');
    expect(scope).not.toContain('literal_value');
  });

  it('reads a DO block as its statements: a guarded CREATE is scoped by the names inside', () => {
    const scope = scopeOf(
      "DO $$\nBEGIN\n  IF to_regclass('workspace.notes') IS NULL THEN\n    CREATE TABLE workspace.notes (id int PRIMARY KEY, body text);\n  END IF;\nEND\n$$;\n",
    );
    expect(scope).not.toBe('all');
    expect(scope).toEqual(expect.arrayContaining(['workspace', 'notes']));
  });

  it('leaves out what a statement only uses: the columns of a relation it names, their types, the functions and types its expressions use', () => {
    const scope = scopeOf(
      "CREATE TABLE workspace.t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL, mood workspace.mood, at timestamptz DEFAULT now(), parent_id bigint REFERENCES workspace.parent (ref_id));\nCREATE INDEX t_title_idx ON workspace.t (lower(title));\nALTER TABLE workspace.t ADD CONSTRAINT t_id_check CHECK (id > 0 AND title::varchar <> '');\n",
    );
    expect(scope).toEqual(expect.arrayContaining(['workspace', 't', 't_title_idx', 't_id_check']));
    for (const used of [
      'parent',
      'id',
      'title',
      'mood',
      'at',
      'now',
      'parent_id',
      'ref_id',
      'lower',
      'text',
      'int8',
      'pg_catalog',
      'timestamptz',
      'varchar',
    ])
      expect(scope).not.toContain(used);
  });

  it("leaves out the parse tree's codes and the table a foreign key references, keeping names that look like codes", () => {
    const scope = scopeOf(
      'CREATE UNLOGGED TABLE workspace."CONSTR_PRIMARY" (id int PRIMARY KEY, p int REFERENCES workspace.parent ON DELETE CASCADE);\nCREATE INDEX btree ON workspace."CONSTR_PRIMARY" USING btree (p DESC NULLS LAST);\n',
    );
    expect(scope).toEqual(['CONSTR_PRIMARY', 'btree', 'workspace']);
  });

  it.each([
    ['a type it drops', 'DROP TYPE workspace.mood;\n', 'mood'],
    ['a domain it drops', 'DROP DOMAIN IF EXISTS workspace.positive;\n', 'positive'],
    ['a column it renames', 'ALTER TABLE workspace.t RENAME COLUMN title TO name;\n', 'title'],
    ['a column it drops', 'ALTER TABLE workspace.t DROP COLUMN legacy;\n', 'legacy'],
    ['a function it drops', 'DROP FUNCTION workspace.f(integer);\n', 'f'],
    ['a type it renames', "ALTER TYPE workspace.mood RENAME VALUE 'sad' TO 'blue';\n", 'mood'],
  ])('keeps the name of %s', (_name, sql, name) => {
    expect(scopeOf(sql)).toContain(name);
  });

  it('is the whole catalog for a DO block where the parser is not given', () => {
    const parsed = parseFile(parser, 'DO $$ BEGIN CREATE TABLE workspace.t (id int); END $$;\n');
    if (!parsed.ok) throw new Error(parsed.problem.message);
    expect(mentionedNames(parsed.statements)).toEqual({ all: 'a DO block' });
  });

  it('keeps the names of SELECT ... INTO, which makes a table', () => {
    expect(scopeOf('SELECT 1 AS x INTO workspace.made;\n')).toContain('made');
  });

  it.each([
    [
      'a DO block that runs dynamic SQL',
      "DO $$ BEGIN EXECUTE '' || 'CREATE TABLE workspace.t (id int)'; END $$;\n",
    ],
    ['a DO block that CALLs a procedure', 'DO $$ BEGIN CALL workspace.fill(); END $$;\n'],
    [
      'a DO block that calls a function of the catalog',
      'DO $$ BEGIN PERFORM make_partitions(); END $$;\n',
    ],
    ['CREATE EXTENSION', 'CREATE EXTENSION IF NOT EXISTS pgcrypto;\n'],
    ['DROP ... CASCADE', 'DROP TABLE workspace.t CASCADE;\n'],
    ['a schema renamed', 'ALTER SCHEMA workspace RENAME TO ws;\n'],
    [
      'dynamic SQL in a function it calls',
      "CREATE FUNCTION workspace.f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE '' || 'CREATE TABLE x ()'; END $$;\nSELECT workspace.f();\n",
    ],
    ['a call of a function the catalog has', 'SELECT make_partitions();\n'],
    ['CREATE SCHEMA AUTHORIZATION without a name', 'CREATE SCHEMA AUTHORIZATION CURRENT_USER;\n'],
    ['a built-in that runs SQL text', "SELECT query_to_xml('SELECT 1', true, false, '');\n"],
  ])('is the whole catalog for %s', (_name, sql) => {
    expect(scopeOf(sql, ['make_partitions'])).toBe('all');
  });

  it('treats a call of a built-in function as making nothing, but only once the catalog said which functions are not built in', () => {
    const sql =
      "CREATE TABLE workspace.t (at timestamptz DEFAULT now());\nSELECT pg_catalog.set_config('x.y', '1', true), gen_random_uuid();\n";
    expect(scopeOf(sql)).not.toBe('all');
    expect(scopeOf(sql, null)).toBe('all');
    // A user's function of a built-in's name: the catalog has it, so it might make anything.
    expect(scopeOf(sql, ['now'])).toBe('all');
  });

  it.each([
    ['a table renamed', 'ALTER TABLE workspace.t RENAME TO u;\n', ['t', 'u']],
    ['a table moved', 'ALTER TABLE workspace.t SET SCHEMA reference;\n', ['t', 'reference']],
    ['a type renamed', 'ALTER TYPE workspace.mood RENAME TO feeling;\n', ['mood', 'feeling']],
    [
      'a domain moved',
      'ALTER DOMAIN workspace.code SET SCHEMA reference;\n',
      ['code', 'reference'],
    ],
    ['a view renamed', 'ALTER VIEW workspace.v RENAME TO w;\n', ['v', 'w']],
  ])(
    'is the names for %s: the functions over its type are listed by those names (catalog/listing.ts)',
    (_name, sql, names) => {
      expect(scopeOf(sql)).toEqual(expect.arrayContaining(names));
    },
  );

  it('follows renames of parts, whose old and new names it mentions', () => {
    const scope = scopeOf(
      'ALTER TABLE workspace.t RENAME COLUMN a TO b;\nALTER INDEX workspace.t_a RENAME TO t_b;\n',
    );
    expect(scope).toEqual(expect.arrayContaining(['a', 'b', 't_a', 't_b']));
  });
});
