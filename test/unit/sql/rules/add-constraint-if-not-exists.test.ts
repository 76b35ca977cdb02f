import { describe, expect, it } from 'vitest';

import { findingsOf, lintWithParser } from './findings.js';

const RULE = 'add-constraint-if-not-exists';

const findings = findingsOf(RULE);
const lintAll = lintWithParser();

describe(RULE, () => {
  it.each([
    [
      'the guarded DO-block form',
      [
        'DO $$',
        'BEGIN',
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'c' AND conrelid = 'a.t'::regclass) THEN",
        '    ALTER TABLE a.t ADD CONSTRAINT c CHECK (x > 0);',
        '  END IF;',
        'END',
        '$$;',
      ].join('\n'),
    ],
    ['a plain ADD CONSTRAINT', 'ALTER TABLE a.t ADD CONSTRAINT c CHECK (x > 0);'],
    ['ADD COLUMN IF NOT EXISTS', 'ALTER TABLE a.t ADD COLUMN IF NOT EXISTS x int;'],
    ['the words in a comment', '-- never write ADD CONSTRAINT IF NOT EXISTS\nSELECT 1;'],
    ['the words in a block comment', '/* ADD CONSTRAINT IF NOT EXISTS */ SELECT 1;'],
    ['the words in a string', "SELECT 'ADD CONSTRAINT IF NOT EXISTS';"],
  ])('ok: %s', (_what, sql) => {
    expect(findings(sql)).toEqual([]);
  });

  it.each([
    [
      'on its own line',
      'CREATE TABLE IF NOT EXISTS a.t (x int);\nALTER TABLE a.t\n  ADD CONSTRAINT IF NOT EXISTS c CHECK (x > 0);\n',
      [[3, 18]],
    ],
    ['in lower case', 'alter table a.t add constraint if not exists c check (x > 0);', [[1, 32]]],
    [
      'split over lines',
      'ALTER TABLE a.t ADD CONSTRAINT\n  IF\n  NOT EXISTS c UNIQUE (x);',
      [[2, 3]],
    ],
    [
      'twice in one file',
      'ALTER TABLE a.t ADD CONSTRAINT IF NOT EXISTS c CHECK (x > 0);\nALTER TABLE a.u ADD CONSTRAINT IF NOT EXISTS d CHECK (y > 0);',
      [
        [1, 32],
        [2, 32],
      ],
    ],
  ])('bad: %s → an error at IF', (_what, sql, positions) => {
    const found = findings(sql);
    expect(found.map((f) => [f.at.line, f.at.column])).toEqual(positions);
    for (const f of found) {
      expect(f.severity).toBe('error');
      expect(f.message).toBe('ADD CONSTRAINT IF NOT EXISTS is a syntax error in PostgreSQL.');
    }
  });

  it('shows the guarded DO-block form as the fix', () => {
    const [finding] = findings('ALTER TABLE a.t ADD CONSTRAINT IF NOT EXISTS c CHECK (x > 0);');
    expect(finding).toBeDefined();
    const fix = finding!.fix;
    expect(fix).toMatch(/^DO \$\$$/m);
    expect(fix).toContain('IF NOT EXISTS (SELECT 1 FROM pg_constraint');
    expect(fix).toMatch(/ THEN\n\s+ALTER TABLE \S+ ADD CONSTRAINT \S+ CHECK/);
    expect(fix).toMatch(/END IF;\nEND\n\$\$;$/);
    // The fix is itself valid SQL once the placeholder check is filled in.
    const sql = fix.slice(fix.indexOf('DO $$')).replace('CHECK (...)', 'CHECK (true)');
    expect(lintAll(sql).filter((f) => f.severity === 'error')).toEqual([]);
  });

  it.each([
    [
      'a CHECK',
      'ALTER TABLE workspace.items ADD CONSTRAINT IF NOT EXISTS items_pos CHECK (id > 0);',
      "conname = 'items_pos' AND conrelid = 'workspace.items'::regclass",
      'ALTER TABLE workspace.items ADD CONSTRAINT items_pos CHECK (id > 0);',
    ],
    [
      'ONLY, a quoted name, and a second clause left out',
      'ALTER TABLE ONLY a."T" ADD CONSTRAINT IF NOT EXISTS "Uq" UNIQUE (x, y), ADD COLUMN z int;',
      `conname = 'Uq' AND conrelid = 'a."T"'::regclass`,
      'ALTER TABLE a."T" ADD CONSTRAINT "Uq" UNIQUE (x, y);',
    ],
  ])('the fix names the statement’s own table and constraint: %s', (_what, sql, guard, alter) => {
    const [finding] = findings(sql);
    expect(finding!.fix).not.toContain('my_');
    expect(finding!.fix).toContain(guard);
    expect(finding!.fix).toContain(`    ${alter}\n`);
    const block = finding!.fix.slice(finding!.fix.indexOf('DO $$'));
    expect(lintAll(block).filter((f) => f.severity === 'error')).toEqual([]);
  });
});
