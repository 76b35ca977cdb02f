import { describe, expect, it } from 'vitest';
import { findingsOf } from './findings.js';

const RULE = 'destructive-statement';

const findings = findingsOf(RULE);
const says = (step: string) =>
  `${step} would destroy data: migrate refuses it while its target holds rows.`;

describe(RULE, () => {
  it.each([
    ['DELETE with WHERE', 'DELETE FROM workspace.items WHERE id = 1;'],
    ['UPDATE with WHERE', "UPDATE workspace.items SET note = '' WHERE note IS NULL;"],
    ['DROP INDEX', 'DROP INDEX IF EXISTS workspace.items_idx;'],
    ['DROP VIEW', 'DROP VIEW IF EXISTS workspace.v;'],
    ['ADD COLUMN', 'ALTER TABLE workspace.items ADD COLUMN IF NOT EXISTS note text;'],
    ['DROP TABLE in a comment', '-- DROP TABLE workspace.items;\nSELECT 1;'],
    ['DELETE with a WHERE that limits it', 'DELETE FROM a.items WHERE true AND id = 1;'],
    ['INSERT ... ON CONFLICT DO NOTHING', 'INSERT INTO a.items VALUES (1) ON CONFLICT DO NOTHING;'],
    ['DROP TYPE without CASCADE (PostgreSQL refuses while a column uses it)', 'DROP TYPE a.mood;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'DROP TABLE',
      'CREATE TABLE IF NOT EXISTS a.t (id int);\n  DROP TABLE workspace.items;',
      [[2, 3, says('DROP TABLE workspace.items')]],
    ],
    [
      'DROP SCHEMA of two schemas',
      'DROP SCHEMA a, b CASCADE;',
      [
        [1, 1, says('DROP SCHEMA a CASCADE')],
        [1, 1, says('DROP SCHEMA b CASCADE')],
      ],
    ],
    [
      'DROP MATERIALIZED VIEW',
      'SELECT 1; DROP MATERIALIZED VIEW r.totals;',
      [[1, 11, says('DROP MATERIALIZED VIEW r.totals')]],
    ],
    [
      'DROP COLUMN',
      'ALTER TABLE items DROP COLUMN note;',
      [[1, 1, says('ALTER TABLE items DROP COLUMN note')]],
    ],
    [
      'ALTER COLUMN TYPE',
      'ALTER TABLE a.items ALTER COLUMN price TYPE varchar(10);',
      [
        [
          1,
          1,
          "ALTER TABLE a.items ALTER COLUMN price TYPE varchar(10) would destroy data unless it keeps every value: migrate refuses it while its target holds rows, unless the column's type now widens to it (int to bigint, a longer varchar, text to citext, an enum's labels to another enum).",
        ],
      ],
    ],
    [
      'ALTER COLUMN TYPE with a USING that computes',
      'ALTER TABLE a.items ALTER COLUMN price TYPE varchar(10) USING left(price, 3);',
      [[1, 1, says('ALTER TABLE a.items ALTER COLUMN price TYPE varchar(10)')]],
    ],
    ['TRUNCATE CASCADE', '\nTRUNCATE a.items CASCADE;', [[2, 1, says('TRUNCATE a.items CASCADE')]]],
    [
      'ONLY, named as written',
      'TRUNCATE ONLY a.items;\nDELETE FROM ONLY a.items;',
      [
        [1, 1, says('TRUNCATE ONLY a.items')],
        [2, 1, says('DELETE FROM ONLY a.items without a WHERE that limits it')],
      ],
    ],
    [
      'DELETE without WHERE',
      'DELETE FROM a.items;',
      [[1, 1, says('DELETE FROM a.items without a WHERE that limits it')]],
    ],
    [
      'DELETE ... WHERE true',
      'DELETE FROM a.items WHERE true;',
      [[1, 1, says('DELETE FROM a.items without a WHERE that limits it')]],
    ],
    [
      'MERGE ... WHEN MATCHED THEN DELETE',
      'MERGE INTO a.items i USING a.old o ON i.id = o.id WHEN MATCHED THEN DELETE;',
      [[1, 1, says('MERGE INTO a.items ... THEN DELETE')]],
    ],
    [
      'UPDATE without WHERE',
      "UPDATE a.items SET note = '';",
      [[1, 1, says('UPDATE a.items without a WHERE that limits it')]],
    ],
    [
      'UPDATE ... WHERE 1 = 1',
      "UPDATE a.items SET note = '' WHERE 1 = 1;",
      [[1, 1, says('UPDATE a.items without a WHERE that limits it')]],
    ],
    ['DROP TYPE CASCADE', 'DROP TYPE a.mood CASCADE;', [[1, 1, says('DROP TYPE a.mood CASCADE')]]],
    ['DROP OWNED', 'DROP OWNED BY app;', [[1, 1, says('DROP OWNED BY app')]]],
    ['DROP DATABASE', 'DROP DATABASE old_app;', [[1, 1, says('DROP DATABASE old_app')]]],
    [
      'DROP DATABASE of a name that needs quotes',
      'DROP DATABASE IF EXISTS "Old App" WITH (FORCE);',
      [[1, 1, says('DROP DATABASE "Old App"')]],
    ],
    [
      'TRUNCATE in a DO block',
      'DO $$ BEGIN IF true THEN TRUNCATE a.items; END IF; END $$;',
      [
        [
          1,
          1,
          `TRUNCATE a.items (in the DO block at line 1) would destroy data: migrate refuses it while its target holds rows.`,
        ],
      ],
    ],
  ])('bad: %s', (_what, sql, expected) => {
    const found = findings(sql);
    expect(found.map((f) => [f.at.line, f.at.column, f.message])).toEqual(expected);
    for (const f of found) {
      expect(f.severity).toBe('warning');
      expect(f.fix).toContain('--force');
      expect(f.fix).toContain('-- schemata:force');
    }
  });
});
