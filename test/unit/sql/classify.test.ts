import { beforeAll, describe, expect, it } from 'vitest';
import { type Classification, classify } from '../../../src/sql/classify.js';
import { loadParser } from '../../../src/sql/parse.js';
import { parseFile, type Parser, type Statement } from '../../../src/sql/statements.js';

let parser: Parser;
beforeAll(async () => {
  parser = await loadParser();
});

function statements(sql: string): Statement[] {
  const parsed = parseFile(parser, sql);
  if (!parsed.ok)
    throw new Error(`expected ${JSON.stringify(sql)} to parse, got ${parsed.problem.message}`);
  return parsed.statements;
}

function classified(sql: string): Classification {
  return classify(statements(sql));
}

describe('classify: statements that cannot run in a transaction', () => {
  it.each([
    [
      'CREATE INDEX CONCURRENTLY',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_idx ON workspace.items (note);',
      'CREATE INDEX CONCURRENTLY',
    ],
    [
      'CREATE UNIQUE INDEX CONCURRENTLY',
      'CREATE UNIQUE INDEX CONCURRENTLY items_u ON items (id);',
      'CREATE INDEX CONCURRENTLY',
    ],
    [
      'DROP INDEX CONCURRENTLY',
      'DROP INDEX CONCURRENTLY IF EXISTS workspace.items_idx;',
      'DROP INDEX CONCURRENTLY',
    ],
    [
      'REINDEX INDEX ... CONCURRENTLY',
      'REINDEX INDEX CONCURRENTLY workspace.items_idx;',
      'REINDEX CONCURRENTLY',
    ],
    [
      'REINDEX (CONCURRENTLY) TABLE',
      'REINDEX (CONCURRENTLY) TABLE workspace.items;',
      'REINDEX CONCURRENTLY',
    ],
    ['REINDEX DATABASE', 'REINDEX DATABASE app;', 'REINDEX SYSTEM/DATABASE'],
    [
      'DETACH PARTITION ... CONCURRENTLY',
      'ALTER TABLE workspace.events DETACH PARTITION workspace.events_2020 CONCURRENTLY;',
      'ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY',
    ],
    ['VACUUM', 'VACUUM workspace.items;', 'VACUUM'],
    ['VACUUM (ANALYZE)', 'VACUUM (ANALYZE) workspace.items;', 'VACUUM'],
    ['CREATE DATABASE', 'CREATE DATABASE other;', 'CREATE DATABASE'],
    ['DROP DATABASE', 'DROP DATABASE IF EXISTS other;', 'DROP DATABASE'],
    ['ALTER SYSTEM', "ALTER SYSTEM SET work_mem = '64MB';", 'ALTER SYSTEM'],
    ['CREATE TABLESPACE', "CREATE TABLESPACE fast LOCATION '/mnt/fast';", 'CREATE TABLESPACE'],
    ['DROP TABLESPACE', 'DROP TABLESPACE fast;', 'DROP TABLESPACE'],
  ])('%s', (_what, sql, reason) => {
    const result = classified(`SELECT 1;\n${sql}\n`);
    expect(result.nonTransactional.map((n) => [n.reason, n.statement.at])).toEqual([
      [reason, { line: 2, column: 1 }],
    ]);
  });

  it.each([
    ['CREATE INDEX', 'CREATE INDEX IF NOT EXISTS items_idx ON workspace.items (note);'],
    ['DROP INDEX', 'DROP INDEX workspace.items_idx;'],
    ['REINDEX TABLE', 'REINDEX TABLE workspace.items;'],
    ['DETACH PARTITION', 'ALTER TABLE workspace.events DETACH PARTITION workspace.events_2020;'],
    ['ANALYZE', 'ANALYZE workspace.items;'],
    ['CREATE TABLE', 'CREATE TABLE t (id int);'],
    [
      'a comment naming CONCURRENTLY',
      '-- CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX i ON t (a);',
    ],
  ])('%s runs in a transaction', (_what, sql) => {
    expect(classified(sql).nonTransactional).toEqual([]);
  });
});

describe('classify: transaction control', () => {
  it.each([
    ['BEGIN', 'BEGIN;'],
    ['BEGIN TRANSACTION', 'BEGIN TRANSACTION;'],
    ['START TRANSACTION', 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE;'],
    ['COMMIT', 'COMMIT;'],
    ['END', 'END;'],
  ])('%s is the file’s own transaction control', (_what, sql) => {
    const result = classified(`SELECT 1;\n${sql}\n`);
    expect(result.transactionControl.map((s) => [s.text, s.at])).toEqual([
      [sql.replace(/;$/, ''), { line: 2, column: 1 }],
    ]);
  });

  it('lists every one in order, and not BEGIN inside a DO block', () => {
    const result = classified('BEGIN;\nDO $$ BEGIN PERFORM 1; END $$;\nCOMMIT;\n');
    expect(result.transactionControl.map((s) => s.text)).toEqual(['BEGIN', 'COMMIT']);
  });

  it('is empty without any', () => {
    expect(classified('SAVEPOINT s;\nSELECT 1;\nRELEASE SAVEPOINT s;').transactionControl).toEqual(
      [],
    );
  });
});
