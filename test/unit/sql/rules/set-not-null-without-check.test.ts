import { describe, expect, it } from 'vitest';
import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'set-not-null-without-check';

const findings = findingsOf(RULE);
const lintAll = lintWithParser();

/** A fix is SQL to paste: it parses, and raises no warning of this rule. */
const pasteable = (fix: string) =>
  lintAll(fix).filter((f) => f.severity === 'error' || f.rule === RULE);

describe(RULE, () => {
  it.each([
    [
      'a table made earlier in the file',
      'CREATE TABLE IF NOT EXISTS a.t (x int);\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
    ],
    [
      'a CHECK added NOT VALID and validated earlier in the file',
      'ALTER TABLE a.t ADD CONSTRAINT t_x_nn CHECK (x IS NOT NULL) NOT VALID;\nALTER TABLE a.t VALIDATE CONSTRAINT t_x_nn;\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
    ],
    [
      'a CHECK added valid earlier in the file',
      'ALTER TABLE a.t ADD CONSTRAINT t_x_nn CHECK (x IS NOT NULL);\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
    ],
    [
      'VALIDATE of a CHECK an earlier migration added (lint cannot see it)',
      'ALTER TABLE a.t VALIDATE CONSTRAINT t_x_nn;\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
    ],
    [
      'all in one statement',
      'ALTER TABLE a.t VALIDATE CONSTRAINT t_x_nn, ALTER COLUMN x SET NOT NULL;',
    ],
    ['DROP NOT NULL', 'ALTER TABLE a.t ALTER COLUMN x DROP NOT NULL;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  const fix = (table: string, bare: string, column: string) =>
    [
      `ALTER TABLE ${table} ADD CONSTRAINT ${bare}_${column}_not_null CHECK (${column} IS NOT NULL) NOT VALID;`,
      '-- then, in a later migration (VALIDATE scans under SHARE UPDATE EXCLUSIVE: reads and writes go on;',
      '-- PostgreSQL 12 and later then set NOT NULL without a scan):',
      `ALTER TABLE ${table} VALIDATE CONSTRAINT ${bare}_${column}_not_null;`,
      `ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL;`,
      `ALTER TABLE ${table} DROP CONSTRAINT ${bare}_${column}_not_null;`,
    ].join('\n');

  it.each([
    [
      'no CHECK',
      'ALTER TABLE workspace.items ALTER COLUMN title SET NOT NULL;',
      1,
      'workspace.items',
      'items',
      'title',
    ],
    [
      'a CHECK added NOT VALID, never validated',
      'ALTER TABLE a.t ADD CONSTRAINT t_x_nn CHECK (x IS NOT NULL) NOT VALID;\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
      2,
      'a.t',
      't',
      'x',
    ],
    [
      'a validated CHECK of another column',
      'ALTER TABLE a.t ADD CONSTRAINT t_y_nn CHECK (y IS NOT NULL) NOT VALID;\nALTER TABLE a.t VALIDATE CONSTRAINT t_y_nn;\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
      3,
      'a.t',
      't',
      'x',
    ],
    [
      'a validated CHECK that proves something else',
      'ALTER TABLE a.t ADD CONSTRAINT t_pos CHECK (x > 0) NOT VALID;\nALTER TABLE a.t VALIDATE CONSTRAINT t_pos;\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
      3,
      'a.t',
      't',
      'x',
    ],
    [
      'a validated CHECK of the same column on another table',
      'ALTER TABLE a.u ADD CONSTRAINT u_x_nn CHECK (x IS NOT NULL);\nALTER TABLE a.t ALTER COLUMN x SET NOT NULL;',
      2,
      'a.t',
      't',
      'x',
    ],
  ])('bad: %s', (_what, sql, line, table, bare, column) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      {
        at: { line, column: 1 },
        severity: 'warning',
        message: `SET NOT NULL on ${table}.${column} reads every row of ${table} under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done.`,
      },
    ]);
    expect(found[0]!.fix).toBe(fix(table, bare, column));
    expect(pasteable(found[0]!.fix)).toEqual([]);
  });
});
