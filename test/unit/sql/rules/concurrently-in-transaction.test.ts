import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'concurrently-in-transaction';

const findings = findingsOf(RULE);

describe(RULE, () => {
  it.each([
    ['CONCURRENTLY without BEGIN', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);'],
    [
      'CONCURRENTLY after COMMIT',
      'BEGIN;\nSELECT 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);',
    ],
    ['CONCURRENTLY after END', 'BEGIN;\nSELECT 1;\nEND;\nDROP INDEX CONCURRENTLY IF EXISTS a.i;'],
    [
      'CONCURRENTLY after ROLLBACK',
      'BEGIN;\nSELECT 1;\nROLLBACK;\nREINDEX INDEX CONCURRENTLY a.i;',
    ],
    [
      'a plain CREATE INDEX inside BEGIN',
      'BEGIN;\nCREATE INDEX IF NOT EXISTS i ON a.t (x);\nCOMMIT;',
    ],
    [
      'BEGIN of a DO block',
      'DO $$ BEGIN PERFORM 1; END $$;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);',
    ],
    ['BEGIN in a comment', '-- BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'CREATE INDEX CONCURRENTLY after BEGIN',
      'BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);\nCOMMIT;',
      2,
      1,
      'CREATE INDEX CONCURRENTLY',
    ],
    [
      'DROP INDEX CONCURRENTLY after START TRANSACTION',
      'START TRANSACTION;\nSELECT 1;\n  DROP INDEX CONCURRENTLY IF EXISTS a.i;\nCOMMIT;',
      3,
      3,
      'DROP INDEX CONCURRENTLY',
    ],
    [
      'REINDEX CONCURRENTLY without a COMMIT',
      'BEGIN; REINDEX TABLE CONCURRENTLY a.t;',
      1,
      8,
      'REINDEX CONCURRENTLY',
    ],
    ['VACUUM', 'BEGIN;\nVACUUM a.t;\nCOMMIT;', 2, 1, 'VACUUM'],
    [
      'the second BEGIN of a file',
      'BEGIN;\nSELECT 1;\nCOMMIT;\nbegin;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a.t (x);\ncommit;',
      5,
      1,
      'CREATE INDEX CONCURRENTLY',
    ],
  ])('bad: %s', (_what, sql, line, column, reason) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      {
        at: { line, column },
        severity: 'error',
        message: `${reason} inside the file's own BEGIN ... COMMIT: PostgreSQL refuses it there.`,
      },
    ]);
    expect(found[0]!.fix).toContain('Remove BEGIN/COMMIT');
  });
});
