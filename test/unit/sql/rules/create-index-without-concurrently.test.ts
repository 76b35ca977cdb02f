import { describe, expect, it } from 'vitest';
import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'create-index-without-concurrently';

const findings = findingsOf(RULE);
const lintAll = lintWithParser();

/** A fix is SQL to paste: it parses, and raises no warning of this rule. */
const pasteable = (fix: string) =>
  lintAll(fix).filter((f) => f.severity === 'error' || f.rule === RULE);

describe(RULE, () => {
  it.each([
    ['CONCURRENTLY', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);'],
    ['UNIQUE CONCURRENTLY', 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);'],
    [
      'a table made earlier in the file',
      'CREATE TABLE IF NOT EXISTS a.t (x int);\nCREATE INDEX IF NOT EXISTS i ON a.t (x);',
    ],
    [
      'a table made earlier, named through the search_path',
      'SET search_path TO a;\nCREATE TABLE IF NOT EXISTS t (x int);\nCREATE INDEX IF NOT EXISTS i ON a.t (x);',
    ],
    [
      'a table made earlier, unqualified both times',
      'CREATE TABLE t (x int);\nCREATE INDEX ON t (x);',
    ],
    ['CREATE INDEX in a comment', '-- CREATE INDEX i ON a.t (x);\nSELECT 1;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'a table of an earlier migration',
      'CREATE INDEX IF NOT EXISTS items_title ON workspace.items (title);',
      1,
      1,
      'CREATE INDEX items_title on workspace.items takes a SHARE lock: every write to workspace.items waits until the index is built.',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_title ON workspace.items (title);',
    ],
    [
      'UNIQUE, unnamed, after another table is made',
      'CREATE TABLE IF NOT EXISTS a.other (x int);\n  create unique index on a.t (lower(x));',
      2,
      3,
      'CREATE INDEX on a.t takes a SHARE lock: every write to a.t waits until the index is built.',
      'create unique index CONCURRENTLY on a.t (lower(x));',
    ],
    [
      'a table made after the index',
      'CREATE INDEX IF NOT EXISTS i ON a.t (x);\nCREATE TABLE a.t (x int);',
      1,
      1,
      'CREATE INDEX i on a.t takes a SHARE lock: every write to a.t waits until the index is built.',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);',
    ],
  ])('bad: %s', (_what, sql, line, column, message, statement) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      { at: { line, column }, severity: 'warning', message },
    ]);
    expect(found[0]!.fix).toBe(
      `-- schemata:no-transaction\n-- (a migration file of its own: CONCURRENTLY cannot run inside a transaction;\n-- a build that fails leaves an INVALID index: drop it before the next try)\n${statement}`,
    );
    expect(pasteable(found[0]!.fix)).toEqual([]);
  });
});
