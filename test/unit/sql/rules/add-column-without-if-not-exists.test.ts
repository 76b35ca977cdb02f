import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'add-column-without-if-not-exists';

const findings = findingsOf(RULE);

describe(RULE, () => {
  it.each([
    ['ADD COLUMN IF NOT EXISTS', 'ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS note text;'],
    [
      'ADD IF NOT EXISTS without COLUMN',
      'ALTER TABLE workspace.items ADD IF NOT EXISTS note text;',
    ],
    ['ADD CONSTRAINT', 'ALTER TABLE workspace.items ADD CONSTRAINT c CHECK (id > 0);'],
    ['DROP COLUMN', 'ALTER TABLE workspace.items DROP COLUMN IF EXISTS note;'],
    ['ADD COLUMN in a comment', '-- ALTER TABLE t ADD COLUMN c int;\nSELECT 1;'],
    ['CREATE TABLE with its columns', 'CREATE TABLE IF NOT EXISTS t (a int, b int);'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'qualified',
      'SELECT 1;\nALTER TABLE workspace.items ADD COLUMN note text;',
      [
        [
          2,
          1,
          'ALTER TABLE workspace.items ADD COLUMN note without IF NOT EXISTS cannot run twice.',
        ],
      ],
    ],
    [
      'unqualified, without COLUMN',
      '  ALTER TABLE items ADD note text;',
      [[1, 3, 'ALTER TABLE items ADD COLUMN note without IF NOT EXISTS cannot run twice.']],
    ],
    [
      'two bare ADDs among guarded ones',
      'SELECT 1;\nALTER TABLE a.t ADD COLUMN x int, ADD COLUMN IF NOT EXISTS y int, ADD z int;',
      [
        [2, 1, 'ALTER TABLE a.t ADD COLUMN x without IF NOT EXISTS cannot run twice.'],
        [2, 1, 'ALTER TABLE a.t ADD COLUMN z without IF NOT EXISTS cannot run twice.'],
      ],
    ],
  ])('bad: %s', (_what, sql, expected) => {
    const found = findings(sql);
    expect(found.map((f) => [f.at.line, f.at.column, f.message])).toEqual(expected);
    for (const f of found) {
      expect(f.severity).toBe('warning');
      expect(f.fix).toContain('ADD COLUMN IF NOT EXISTS');
    }
  });
});
