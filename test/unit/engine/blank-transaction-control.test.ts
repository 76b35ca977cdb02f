import { beforeAll, describe, expect, it } from 'vitest';
import { blankTransactionControl } from '../../../src/engine/apply.js';
import { loadParser } from '../../../src/sql/parse.js';
import { parseFile, type Parser } from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

function blank(sql: string): string {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(sql)} to parse`);
  return blankTransactionControl(sql, parsed.statements);
}

describe('blankTransactionControl', () => {
  it.each([
    [
      'BEGIN and COMMIT',
      'BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n',
      '     ;\nCREATE TABLE t (id int);\n      ;\n',
    ],
    [
      'lower case',
      'begin;\ninsert into t values (1);\ncommit;',
      '     ;\ninsert into t values (1);\n      ;',
    ],
    [
      'BEGIN TRANSACTION / COMMIT WORK on one line',
      'BEGIN TRANSACTION; SELECT 1; COMMIT WORK;',
      '                 ; SELECT 1;            ;',
    ],
    ['END as COMMIT', 'BEGIN;\nSELECT 1;\nEND;\n', '     ;\nSELECT 1;\n   ;\n'],
    [
      'START TRANSACTION over two lines keeps its newline',
      'START TRANSACTION\n  ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;',
      '                 \n                              ;\nSELECT 1;\n      ;',
    ],
    [
      'a COMMIT without a semicolon at the end',
      "SELECT 'é';\nBEGIN;\nCOMMIT",
      "SELECT 'é';\n     ;\n      ",
    ],
  ])('%s', (_what, sql, expected) => {
    const out = blank(sql);
    expect(out).toBe(expected);
    expect(out.length).toBe(sql.length);
    expect(out.split('\n').map((l) => l.length)).toEqual(sql.split('\n').map((l) => l.length));
  });

  it.each([
    ['no transaction control', 'CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n'],
    ['BEGIN inside a DO block', 'DO $$\nBEGIN\n  PERFORM 1;\nEND\n$$;\n'],
    [
      'BEGIN and COMMIT in a function body',
      'CREATE FUNCTION f() RETURNS void AS $$ BEGIN; COMMIT; $$ LANGUAGE sql;',
    ],
    ['the words in strings and comments', "-- BEGIN;\nSELECT 'COMMIT;'; /* BEGIN; */\n"],
    ['SET and LOCK', "SET lock_timeout = '5s';\nLOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n"],
  ])('leaves %s untouched', (_what, sql) => {
    expect(blank(sql)).toBe(sql);
  });

  it('keeps every other statement at the same offset', () => {
    const sql =
      'BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\n';
    const out = blank(sql);
    expect(out.indexOf('CREATE TABLE a')).toBe(sql.indexOf('CREATE TABLE a'));
    expect(out.indexOf('CREATE TABLE b')).toBe(sql.indexOf('CREATE TABLE b'));
    expect(out).not.toMatch(/BEGIN|COMMIT/);
    // the remaining text still parses, into the two CREATE TABLEs alone
    const reparsed = parseFile(parser, out);
    expect(reparsed.ok).toBe(true);
    if (reparsed.ok)
      expect(reparsed.statements.map((s) => s.text)).toEqual([
        'CREATE TABLE a (id int)',
        'CREATE TABLE b (id int)',
      ]);
  });

  it('with no statements, returns the text as it is', () => {
    expect(blankTransactionControl('BEGIN;', [])).toBe('BEGIN;');
  });
});
