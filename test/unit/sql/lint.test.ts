import { beforeAll, describe, expect, it } from 'vitest';
import { lintFile, withSize } from '../../../src/sql/lint.js';
import { loadParser } from '../../../src/sql/parse.js';
import type { Parser } from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

const lint = (sql: string) => lintFile(parser, sql);
const where = (f: { rule: string; at: { line: number; column: number } }) => [
  f.rule,
  f.at.line,
  f.at.column,
];

describe('lintFile: files that do not parse', () => {
  it.each([
    [
      'on the second line',
      'CREATE TABLE IF NOT EXISTS a.t (id int);\nSELEC 1;\n',
      2,
      1,
      'syntax error at or near "SELEC"',
    ],
    [
      'inside a statement',
      'CREATE TABLE IF NOT EXISTS a.t (\n  id int,\n  note text,,\n);',
      3,
      13,
      'syntax error at or near ","',
    ],
    [
      'at the end of input',
      'SELECT 1;\nCREATE TABLE IF NOT EXISTS t (id int',
      2,
      37,
      'syntax error at end of input',
    ],
    [
      'after multibyte characters on the line',
      "SELECT 'é', 'x' FROM;",
      1,
      21,
      'syntax error at or near ";"',
    ],
    [
      'after multibyte characters on earlier lines',
      "-- héllo ✓\nSELECT 'ü';\n  SELECT FROM WHERE;\n",
      3,
      15,
      'syntax error at or near "WHERE"',
    ],
  ])(
    'a syntax error %s → one syntax-error finding at its position',
    (_what, sql, line, column, message) => {
      const found = lint(sql);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        rule: 'syntax-error',
        severity: 'error',
        at: { line, column },
      });
      expect(found[0]!.message).toContain(message);
      expect(found[0]!.fix).toBe('Fix the SQL at this position.');
    },
  );

  it.each([
    [
      '\\set on the first line',
      '\\set ON_ERROR_STOP on\nCREATE SCHEMA IF NOT EXISTS s;',
      '\\set',
      1,
      1,
    ],
    [
      '\\i indented on a later line',
      'CREATE SCHEMA IF NOT EXISTS s;\n  \\i other.sql\n',
      '\\i',
      2,
      3,
    ],
    ['\\connect', 'SELECT 1;\n\\connect other\nSELECT 2;', '\\connect', 2, 1],
  ])(
    'a psql meta-command (%s) → one psql-meta-command finding',
    (_what, sql, command, line, column) => {
      const found = lint(sql);
      expect(found.map((f) => ({ rule: f.rule, severity: f.severity, at: f.at }))).toEqual([
        { rule: 'psql-meta-command', severity: 'error', at: { line, column } },
      ]);
      expect(found[0]!.message).toBe(
        `${command} is a psql meta-command, not SQL; schemata sends files to the server, which does not understand it`,
      );
      expect(found[0]!.fix).toContain('Remove it');
    },
  );

  it('a backslash in the middle of a line is a syntax error, not a meta-command', () => {
    expect(lint('SELECT 1;\nSELECT 2 \\gset\n').map(where)).toEqual([['syntax-error', 2, 10]]);
  });

  it('ADD CONSTRAINT IF NOT EXISTS: the rule explains the syntax error, without a second finding', () => {
    const sql =
      'CREATE TABLE IF NOT EXISTS a.t (x int);\nALTER TABLE a.t ADD CONSTRAINT IF NOT EXISTS c CHECK (x > 0);\n';
    const found = lint(sql);
    expect(found.map(where)).toEqual([['add-constraint-if-not-exists', 2, 32]]);
    expect(found[0]!.severity).toBe('error');
    expect(found.some((f) => f.rule === 'syntax-error')).toBe(false);
  });

  // The rule explains only its own syntax error: the parser stops at the first
  // one, and when that one is elsewhere it must still be reported.
  it('a syntax error before an ADD CONSTRAINT IF NOT EXISTS is still reported', () => {
    const sql = 'SELEC 1;\nALTER TABLE a.t ADD CONSTRAINT IF NOT EXISTS c CHECK (x > 0);\n';
    expect(lint(sql).map(where)).toEqual([
      ['syntax-error', 1, 1],
      ['add-constraint-if-not-exists', 2, 32],
    ]);
  });
});

describe('lintFile: files that parse', () => {
  it('lists findings by line, then column, rules of one statement in rule order', () => {
    const sql = [
      'BEGIN;', //                                              1
      'SELECT 1;    CREATE SCHEMA s;', //                       2: create at 2:14
      'DROP TABLE a.t; CREATE INDEX CONCURRENTLY i ON a.u (x);', // 3: destructive 3:1, concurrently + create 3:17
      'COMMIT;', //                                             4
      'ALTER TABLE a.u ADD COLUMN y int, DROP COLUMN z;', //   5: add-column + destructive 5:1
    ].join('\n');
    expect(lint(sql).map(where)).toEqual([
      ['create-without-if-not-exists', 2, 14],
      ['destructive-statement', 3, 1],
      ['concurrently-in-transaction', 3, 17],
      ['create-without-if-not-exists', 3, 17],
      ['add-column-without-if-not-exists', 5, 1],
      ['destructive-statement', 5, 1],
    ]);
  });

  it('a clean re-runnable file has no findings', () => {
    const sql = [
      '-- Purpose: reference data.',
      'CREATE SCHEMA IF NOT EXISTS reference;',
      'SET search_path TO reference, public;',
      'CREATE TABLE IF NOT EXISTS reference.currencies (',
      '  code      char(3) PRIMARY KEY,',
      '  decimals  smallint NOT NULL DEFAULT 2',
      ');',
      'ALTER TABLE reference.currencies ADD COLUMN IF NOT EXISTS name text;',
      'CREATE INDEX IF NOT EXISTS currencies_name_idx ON reference.currencies (name);',
      'DO $$',
      'BEGIN',
      "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'currencies_decimals_check'",
      "                 AND conrelid = 'reference.currencies'::regclass) THEN",
      '    ALTER TABLE reference.currencies',
      '      ADD CONSTRAINT currencies_decimals_check CHECK (decimals BETWEEN 0 AND 4);',
      '  END IF;',
      'END',
      '$$;',
      "INSERT INTO reference.currencies (code, name) VALUES ('EUR', 'Euro') ON CONFLICT (code) DO NOTHING;",
      "UPDATE reference.currencies SET decimals = 0 WHERE code = 'JPY';",
      'DROP INDEX IF EXISTS reference.old_idx;',
      '',
    ].join('\n');
    expect(lint(sql)).toEqual([]);
  });

  it('an empty file or one of comments only has no findings', () => {
    expect(lint('')).toEqual([]);
    expect(lint('-- nothing yet\n')).toEqual([]);
  });
});

describe('withSize: a lock-hazard warning sized by its table', () => {
  const finding = (message: string, table?: string) => ({
    rule: 'type-change-rewrites',
    severity: 'warning' as const,
    at: { line: 1, column: 1 },
    message,
    fix: '',
    ...(table ? { table } : {}),
  });

  it.each([
    [
      'rows and bytes after the first mention of the table',
      'ALTER COLUMN id TYPE bigint rewrites workspace.events and its indexes under an ACCESS EXCLUSIVE lock.',
      { rows: 41_200_000, bytes: 12.4 * 1024 ** 3 },
      'ALTER COLUMN id TYPE bigint rewrites workspace.events (41 M rows, 12 GB) and its indexes under an ACCESS EXCLUSIVE lock.',
    ],
    [
      'not inside a column name',
      'SET NOT NULL on a.t.x reads every row of a.t under an ACCESS EXCLUSIVE lock.',
      { rows: 1500, bytes: 90_000 },
      'SET NOT NULL on a.t.x reads every row of a.t (1.5 k rows, 88 kB) under an ACCESS EXCLUSIVE lock.',
    ],
    [
      'bytes alone before an ANALYZE',
      'CREATE INDEX on a.t takes a SHARE lock.',
      { rows: undefined, bytes: 8192 },
      'CREATE INDEX on a.t (8 kB) takes a SHARE lock.',
    ],
    [
      'an empty table',
      'CREATE INDEX on a.t takes a SHARE lock.',
      { rows: 0, bytes: 0 },
      'CREATE INDEX on a.t (0 rows, 0 bytes) takes a SHARE lock.',
    ],
  ])('%s', (_what, message, size, sized) => {
    const table = message.includes('workspace.events') ? 'workspace.events' : 'a.t';
    expect(withSize(finding(message, table), size).message).toBe(sized);
  });

  it('leaves a finding without a table, or a table not found, as it is', () => {
    const plain = finding('DROP TABLE a.t would destroy data.');
    expect(withSize(plain, { rows: 1, bytes: 1 })).toBe(plain);
    const unsized = finding('CREATE INDEX on a.t takes a SHARE lock.', 'a.t');
    expect(withSize(unsized, undefined)).toBe(unsized);
  });
});
