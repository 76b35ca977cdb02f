import { describe, expect, it } from 'vitest';
import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'foreign-key-without-not-valid';

const findings = findingsOf(RULE);
const lintAll = lintWithParser();

/** A fix is SQL to paste: it parses, and raises no warning of this rule. */
const pasteable = (fix: string) =>
  lintAll(fix).filter((f) => f.severity === 'error' || f.rule === RULE);

describe(RULE, () => {
  it.each([
    [
      'NOT VALID',
      'ALTER TABLE a.t ADD CONSTRAINT t_u_fkey FOREIGN KEY (u) REFERENCES a.u (id) NOT VALID;',
    ],
    ['VALIDATE CONSTRAINT', 'ALTER TABLE a.t VALIDATE CONSTRAINT t_u_fkey;'],
    [
      'a table made earlier in the file',
      'CREATE TABLE IF NOT EXISTS a.t (u int);\nALTER TABLE a.t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES a.u (id);',
    ],
    ['REFERENCES in a new table', 'CREATE TABLE IF NOT EXISTS a.t (u int REFERENCES a.u (id));'],
    ['another constraint', 'ALTER TABLE a.t ADD CONSTRAINT c CHECK (u > 0) NOT VALID;'],
    ['a column without REFERENCES', 'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS u int;'],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'ADD CONSTRAINT ... FOREIGN KEY',
      'ALTER TABLE workspace.items\n  ADD CONSTRAINT items_owner_fkey FOREIGN KEY (owner_id) REFERENCES workspace.owners (id) ON DELETE CASCADE;',
      'ADD CONSTRAINT items_owner_fkey FOREIGN KEY on workspace.items without NOT VALID checks every row of workspace.items under a SHARE ROW EXCLUSIVE lock on workspace.items and workspace.owners: writes to both wait until it is done.',
      [
        'ALTER TABLE workspace.items ADD CONSTRAINT items_owner_fkey FOREIGN KEY (owner_id) REFERENCES workspace.owners (id) ON DELETE CASCADE NOT VALID;',
        '-- then, in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
        'ALTER TABLE workspace.items VALIDATE CONSTRAINT items_owner_fkey;',
      ],
    ],
    [
      'an unnamed FOREIGN KEY of two columns',
      'ALTER TABLE t ADD FOREIGN KEY (a, b) REFERENCES u;',
      'ADD CONSTRAINT t_a_b_fkey FOREIGN KEY on t without NOT VALID checks every row of t under a SHARE ROW EXCLUSIVE lock on t and u: writes to both wait until it is done.',
      [
        'ALTER TABLE t ADD CONSTRAINT t_a_b_fkey FOREIGN KEY (a, b) REFERENCES u NOT VALID;',
        '-- then, in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
        'ALTER TABLE t VALIDATE CONSTRAINT t_a_b_fkey;',
      ],
    ],
    [
      'REFERENCES in ADD COLUMN',
      'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS owner_id bigint REFERENCES a.owners (id);',
      'ADD COLUMN owner_id ... REFERENCES a.owners (id) on a.t without NOT VALID checks every row of a.t under a SHARE ROW EXCLUSIVE lock on a.t and a.owners: writes to both wait until it is done.',
      [
        'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS owner_id bigint;',
        'ALTER TABLE a.t ADD CONSTRAINT t_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES a.owners (id) NOT VALID;',
        '-- then, in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):',
        'ALTER TABLE a.t VALIDATE CONSTRAINT t_owner_id_fkey;',
      ],
    ],
  ])('bad: %s', (_what, sql, message, fix) => {
    const found = findings(sql);
    expect(found.map((f) => ({ at: f.at, severity: f.severity, message: f.message }))).toEqual([
      { at: { line: 1, column: 1 }, severity: 'warning', message },
    ]);
    expect(found[0]!.fix).toBe(fix.join('\n'));
    expect(pasteable(found[0]!.fix)).toEqual([]);
  });
});
