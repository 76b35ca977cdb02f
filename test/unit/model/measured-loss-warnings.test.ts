import { describe, expect, it } from 'vitest';
import type { Judgement } from '../../../src/model/protect.js';
import { measuredLossWarnings } from '../../../src/model/steps.js';

const forced = (target: string): Judgement => ({
  migration: 0,
  at: { line: 2, column: 1 },
  step: 'TRUNCATE',
  statement: `TRUNCATE ${target}`,
  target,
  verdict: 'forced',
  holders: [{ table: target, rows: 3, more: false }],
  reason: `${target} holds 3 rows`,
});

const LOSSES =
  'table workspace.items held 3 rows and is now empty (its rows were deleted); table workspace.notes held 2 rows and is gone';

describe('the warnings for what a force let through, as measured', () => {
  it('one per table the measurement saw losing rows, naming it and its rows', () => {
    expect(measuredLossWarnings('database/data/003_x.sql', LOSSES, [], '--force')).toEqual([
      'database/data/003_x.sql: measured in its transaction: table workspace.items held 3 rows and is now empty (its rows were deleted); allowed (--force).',
      'database/data/003_x.sql: measured in its transaction: table workspace.notes held 2 rows and is gone; allowed (--force).',
    ]);
  });

  it('none for a table the forecast already warned of, nor when nothing was lost', () => {
    expect(
      measuredLossWarnings('f.sql', LOSSES, [forced('workspace.items')], '-- schemata:force'),
    ).toEqual([
      'f.sql: measured in its transaction: table workspace.notes held 2 rows and is gone; allowed (-- schemata:force).',
    ]);
    // A name that only begins like the warned one is another table.
    expect(
      measuredLossWarnings('f.sql', LOSSES, [forced('workspace.item')], '--force'),
    ).toHaveLength(2);
    expect(measuredLossWarnings('f.sql', '', [forced('workspace.items')], '--force')).toEqual([]);
  });
});
