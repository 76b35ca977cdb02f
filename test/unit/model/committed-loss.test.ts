import { describe, expect, it } from 'vitest';
import type { HeldTable, TableNow } from '../../../src/catalog/rows.js';
import { committedLosses } from '../../../src/model/committed-loss.js';

const items: HeldTable = {
  oid: 100,
  identity: 'workspace.items',
  rows: 2,
  columns: [
    { num: 1, name: 'id', type: 'integer' },
    { num: 2, name: 'label', type: 'text' },
  ],
};
const codes: HeldTable = {
  oid: 200,
  identity: 'reference.codes',
  rows: -1,
  columns: [{ num: 1, name: 'code', type: 'text' }],
};
const now = (t: HeldTable, change: Partial<TableNow> = {}): TableNow => ({
  oid: t.oid,
  exists: true,
  hasRows: true,
  columns: t.columns,
  ...change,
});

describe('committedLosses', () => {
  it('finds nothing where every table is there, holds rows, and keeps its columns (a renamed column included)', () => {
    const renamed = now(items, {
      columns: [items.columns[0]!, { num: 2, name: 'title', type: 'text' }],
    });
    expect(committedLosses([items, codes], [renamed, now(codes)], [])).toEqual({
      losses: [],
      holders: [],
    });
  });

  it('names a table gone, one emptied, a column gone and a type changed, with the rows each held', () => {
    const found = committedLosses(
      [items, codes],
      [
        now(items, { columns: [{ num: 1, name: 'id', type: 'bigint' }] }),
        now(codes, { hasRows: false }),
      ],
      [],
    );
    expect(found.losses).toEqual([
      'column id of table workspace.items (2 rows) changed type from integer to bigint',
      'column label of table workspace.items held data (2 rows) and is gone',
      'table reference.codes held rows this role cannot count and is now empty',
    ]);
    expect(found.holders).toEqual([
      { table: 'reference.codes', rows: null, more: false },
      { table: 'workspace.items', rows: 2, more: false },
    ]);
    expect(committedLosses([items], [], []).losses).toEqual([
      'table workspace.items held 2 rows and is gone',
    ]);
  });

  it('lets through a type change the forecast allowed as a widening', () => {
    const widened = now(items, {
      columns: [{ num: 1, name: 'id', type: 'bigint' }, items.columns[1]!],
    });
    expect(committedLosses([items], [widened], [{ oid: 100, column: 'id' }]).losses).toEqual([]);
  });
});
