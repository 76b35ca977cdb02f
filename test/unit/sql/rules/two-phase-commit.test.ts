import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'two-phase-commit';

const findings = findingsOf(RULE);

describe(RULE, () => {
  it.each([
    ['a block of its own', 'BEGIN;\nCREATE TABLE workspace.p (x int);\nCOMMIT;\n'],
    ['a prepared statement', 'PREPARE q AS SELECT 1;\nEXECUTE q;\n'],
    ['PREPARE TRANSACTION in a comment', "-- PREPARE TRANSACTION 'x';\nSELECT 1;\n"],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'PREPARE TRANSACTION',
      "BEGIN;\nCREATE TABLE workspace.p (x int);\nPREPARE TRANSACTION 'deploy';\n",
      3,
    ],
    ['COMMIT PREPARED', "COMMIT PREPARED 'deploy';\n", 1],
    ['ROLLBACK PREPARED', "SELECT 1;\nROLLBACK PREPARED 'deploy';\n", 2],
  ])('bad: %s', (words, sql, line) => {
    expect(findings(sql)).toEqual([
      {
        rule: RULE,
        severity: 'error',
        at: { line, column: 1 },
        message: `${words} is two-phase commit: it hands a transaction to a COMMIT PREPARED that data protection's measurement and the migration's record never reach, and a prepared transaction holds its locks until then.`,
        fix: "Remove it: schemata commits each migration itself (or each BEGIN ... COMMIT block of the file's own).",
      },
    ]);
  });
});
