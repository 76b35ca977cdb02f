import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'destructive-statement';

const findings = findingsOf(RULE);
const says = (step: string) => `${step} destroys data: migrate checks its target for rows first.`;

describe(RULE, () => {
  it.each([
    ['DELETE with WHERE', 'DELETE FROM workspace.items WHERE id = 1;'],
    ['UPDATE with WHERE', "UPDATE workspace.items SET note = '' WHERE note IS NULL;"],
    ['DROP INDEX', 'DROP INDEX IF EXISTS workspace.items_idx;'],
    ['DROP VIEW', 'DROP VIEW IF EXISTS workspace.v;'],
    ['ADD COLUMN', 'ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS note text;'],
    ['DROP TABLE in a comment', '-- DROP TABLE workspace.items;\nSELECT 1;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    ['DROP TABLE', 'CREATE TABLE IF NOT EXISTS a.t (id int);\n  DROP TABLE workspace.items;', [[2, 3, says('DROP TABLE workspace.items')]]],
    ['DROP SCHEMA of two schemas', 'DROP SCHEMA a, b CASCADE;', [[1, 1, says('DROP SCHEMA a CASCADE')], [1, 1, says('DROP SCHEMA b CASCADE')]]],
    ['DROP MATERIALIZED VIEW', 'SELECT 1; DROP MATERIALIZED VIEW r.totals;', [[1, 11, says('DROP MATERIALIZED VIEW r.totals')]]],
    ['DROP COLUMN', 'ALTER TABLE items DROP COLUMN note;', [[1, 1, says('ALTER TABLE items DROP COLUMN note')]]],
    ['ALTER COLUMN TYPE', 'ALTER TABLE a.items ALTER COLUMN price TYPE bigint;', [[1, 1, says('ALTER TABLE a.items ALTER COLUMN price TYPE')]]],
    ['TRUNCATE CASCADE', '\nTRUNCATE a.items CASCADE;', [[2, 1, says('TRUNCATE a.items CASCADE')]]],
    ['DELETE without WHERE', 'DELETE FROM a.items;', [[1, 1, says('DELETE FROM a.items without WHERE')]]],
    ['UPDATE without WHERE', "UPDATE a.items SET note = '';", [[1, 1, says('UPDATE a.items without WHERE')]]],
  ])('bad: %s', (_what, sql, expected) => {
    const found = findings(sql);
    expect(found.map((f) => [f.at.line, f.at.column, f.message])).toEqual(expected);
    for (const f of found) {
      expect(f.severity).toBe('warning');
      expect(f.fix).toContain('--force');
    }
  });
});
