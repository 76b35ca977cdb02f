import { describe, expect, it } from 'vitest';
import {
  addConstraintsFrom,
  constraintName,
  replaceStatement,
} from '../../../src/sql/add-constraint.js';
import { loadDeparser, loadParser } from '../../../src/sql/parse.js';
import { parseFile } from '../../../src/sql/statements.js';

const parser = await loadParser();
const deparse = await loadDeparser();
const tree = (sql: string) => parser.parseSync(sql).stmts![0]!.stmt!;

describe('addConstraintsFrom: a CREATE TABLE constraint as ALTER TABLE ... ADD CONSTRAINT, as the table is now', () => {
  it.each([
    [
      'UNIQUE, unqualified, as drizzle-kit writes it',
      'CREATE TABLE IF NOT EXISTS "clubs" ("id" serial PRIMARY KEY NOT NULL, "name" text, CONSTRAINT "clubs_name_unique" UNIQUE("name"))',
      { schema: 'public', name: 'clubs' },
      { as: 'clubs_name_unique', name: 'clubs_name_unique', columns: new Map<string, string>() },
      'ALTER TABLE public.clubs ADD CONSTRAINT clubs_name_unique UNIQUE (name)',
    ],
    [
      'a CHECK whose column and name were renamed since, quoted CamelCase',
      'CREATE TABLE "workspace"."Team" ("size" int, CONSTRAINT "Team_size_check" CHECK ("size" > 0))',
      { schema: 'workspace', name: 'Squad' },
      { as: 'Team_size_check', name: 'Team_headcount', columns: new Map([['size', 'headCount']]) },
      'ALTER TABLE workspace."Squad" ADD CONSTRAINT "Team_headcount" CHECK ("headCount" > 0)',
    ],
    [
      'a foreign key to its own table, renamed since',
      'CREATE TABLE t (id int PRIMARY KEY, parent int, CONSTRAINT t_parent_fkey FOREIGN KEY (parent) REFERENCES t (id))',
      { schema: 's', name: 'u' },
      { as: 't_parent_fkey', name: 't_parent_fkey', columns: new Map([['id', 'key']]) },
      'ALTER TABLE s.u ADD CONSTRAINT t_parent_fkey FOREIGN KEY (parent) REFERENCES s.u (key)',
    ],
  ])('%s', (_name, create, table, wanted, expected) => {
    const node = addConstraintsFrom(tree(create), table, [wanted]);
    expect(node && deparse(node)).toBe(expected);
  });

  it.each([
    ['a named CHECK on a column', 'c', 'ALTER TABLE p.t ADD CONSTRAINT c CHECK (id > 0)'],
    [
      'an unnamed primary key on a column',
      't_pkey',
      'ALTER TABLE p.t ADD CONSTRAINT t_pkey PRIMARY KEY (id)',
    ],
    [
      'an unnamed UNIQUE on a column',
      't_code_key',
      'ALTER TABLE p.t ADD CONSTRAINT t_code_key UNIQUE (code)',
    ],
    [
      'an unnamed foreign key on a column',
      't_owner_fkey',
      'ALTER TABLE p.t ADD CONSTRAINT t_owner_fkey FOREIGN KEY (owner) REFERENCES p.t (id)',
    ],
  ])('%s: as a table constraint over that column', (_name, constraint, expected) => {
    const node = addConstraintsFrom(
      tree(
        'CREATE TABLE t (id int PRIMARY KEY CONSTRAINT c CHECK (id > 0), code text UNIQUE, owner int REFERENCES t (id))',
      ),
      { schema: 'p', name: 't' },
      [{ as: constraint, name: constraint, columns: new Map() }],
    );
    expect(node && deparse(node)).toBe(expected);
  });

  it('a name the statement does not define: undefined', () => {
    expect(
      addConstraintsFrom(tree('CREATE TABLE t (id int NOT NULL)'), { schema: 'p', name: 't' }, [
        { as: 't_id_check', name: 't_id_check', columns: new Map() },
      ]),
    ).toBeUndefined();
  });

  it.each([
    [
      "a column's NOT NULL (PostgreSQL 18 records it as a constraint)",
      'CREATE TABLE t (id int NOT NULL)',
      't_id_not_null',
      'ALTER TABLE p.u ADD CONSTRAINT t_id_not_null NOT NULL key',
    ],
    [
      'SET NOT NULL, the column renamed since',
      'ALTER TABLE t ALTER COLUMN id SET NOT NULL',
      't_id_not_null',
      'ALTER TABLE p.u ADD CONSTRAINT t_id_not_null NOT NULL key',
    ],
    [
      'an ADD CONSTRAINT of an ALTER TABLE, on the table renamed since',
      'ALTER TABLE t ADD CONSTRAINT t_id_positive CHECK (id > 0), ADD COLUMN c int',
      't_id_positive',
      'ALTER TABLE p.u ADD CONSTRAINT t_id_positive CHECK (key > 0)',
    ],
    [
      'an unnamed UNIQUE of an ADD COLUMN',
      'ALTER TABLE t ADD COLUMN id int UNIQUE',
      't_id_key',
      'ALTER TABLE p.u ADD CONSTRAINT t_id_key UNIQUE (key)',
    ],
  ])('%s', (_name, statement, constraint, expected) => {
    const node = addConstraintsFrom(tree(statement), { schema: 'p', name: 'u' }, [
      { as: constraint, name: constraint, columns: new Map([['id', 'key']]) },
    ]);
    expect(node && deparse(node).replace(/\s+/g, ' ')).toBe(expected);
  });
});

describe('constraintName: as PostgreSQL names an unnamed constraint (makeObjectName)', () => {
  it.each([
    ['items', 'code', 'key', 'items_code_key'],
    ['items', undefined, 'pkey', 'items_pkey'],
    // 63 bytes at most: the longer of the two loses a byte at a time.
    [
      'accounts_with_a_rather_long_name',
      'balance_in_cents_of_the_account',
      'check',
      'accounts_with_a_rather_long__balance_in_cents_of_the_acco_check',
    ],
    // Bytes, not characters, cut where a character starts: é is two bytes.
    ['é'.repeat(40), 'id', 'not_null', `${'é'.repeat(25)}_id_not_null`],
    ['t', 'é'.repeat(40), 'key', `t_${'é'.repeat(28)}_key`],
  ])('%s, %s, %s', (table, column, label, expected) => {
    expect(constraintName(table, column, label)).toBe(expected);
    expect(Buffer.byteLength(expected)).toBeLessThanOrEqual(63);
  });
});

describe('replaceStatement', () => {
  it('keeps the lines after it where they were', () => {
    const sql =
      'CREATE TABLE t (\n  id int,\n  CONSTRAINT c UNIQUE (id)\n);\nCREATE INDEX i ON t (id);\n';
    const parsed = parseFile(parser, sql);
    if (!parsed.ok) throw new Error('parses');
    const text = 'ALTER TABLE p.t ADD CONSTRAINT c UNIQUE (id)';
    const out = replaceStatement(sql, parsed.statements, { line: 1, column: 1 }, text, tree(text));
    const index = out.statements[1]!;
    expect(out.sql.slice(index.start, index.end)).toBe('CREATE INDEX i ON t (id)');
    expect(out.sql.split('\n').indexOf('CREATE INDEX i ON t (id);')).toBe(4);
    expect(out.statements[0]!.shown).toBe(text);
  });
});
