import { describe, expect, it } from 'vitest';
import type { HeldTable, TableNow } from '../../../src/catalog/rows.js';
import { committedLosses } from '../../../src/model/committed-loss.js';

const items: HeldTable = {
  oid: 100,
  identity: 'workspace.items',
  rows: 2,
  node: 100,
  columns: [
    { num: 1, name: 'id', type: 'integer' },
    { num: 2, name: 'label', type: 'text' },
  ],
};
const codes: HeldTable = {
  oid: 200,
  identity: 'reference.codes',
  rows: -1,
  node: 200,
  columns: [{ num: 1, name: 'code', type: 'text' }],
};
const now = (t: HeldTable, change: Partial<TableNow> = {}): TableNow => ({
  oid: t.oid,
  exists: true,
  hasRows: true,
  node: t.node,
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
      emptied: [],
      holders: [],
    });
  });

  it('names a table gone, one emptied with its storage replaced, a column gone and a type changed, with the rows each held', () => {
    const found = committedLosses(
      [items, codes],
      [
        now(items, { columns: [{ num: 1, name: 'id', type: 'bigint' }], node: 101 }),
        now(codes, { hasRows: false, node: 201 }),
      ],
      [],
    );
    expect(found.losses).toEqual([
      'column id of table workspace.items (2 rows) changed type from integer to bigint',
      'column label of table workspace.items held data (2 rows) and is gone',
      'table reference.codes held rows this role cannot count and is now empty (its storage was replaced: TRUNCATE or a rewrite)',
    ]);
    expect(found.emptied).toEqual([]);
    expect(found.holders).toEqual([
      { table: 'reference.codes', rows: null, more: false },
      { table: 'workspace.items', rows: 2, more: false },
    ]);
    expect(committedLosses([items], [], []).losses).toEqual([
      'table workspace.items held 2 rows and is gone',
    ]);
    // Counted up to the cap, as a refusal counts them.
    const big = committedLosses([{ ...items, rows: 10_001 }], [], []);
    expect(big.losses).toEqual(['table workspace.items held more than 10,000 rows and is gone']);
    expect(big.holders).toEqual([{ table: 'workspace.items', rows: 10_000, more: true }]);
  });

  it('tells a table emptied by deletes (its storage kept) apart: another session may have deleted those rows', () => {
    const found = committedLosses([items], [now(items, { hasRows: false })], []);
    expect(found.losses).toEqual([]);
    expect(found.holders).toEqual([]);
    expect(found.emptied).toEqual([
      'table workspace.items held 2 rows and is now empty: its rows were deleted, by it or by another session meanwhile (outside a transaction, which cannot be told)',
    ]);
  });

  it('lets through a type change the forecast allowed as a widening', () => {
    const widened = now(items, {
      columns: [{ num: 1, name: 'id', type: 'bigint' }, items.columns[1]!],
      node: 101,
    });
    expect(committedLosses([items], [widened], [{ oid: 100, column: 'id' }]).losses).toEqual([]);
  });

  it('lets through a type change that rewrote nothing (its storage kept: text to citext), and not one that did', () => {
    const unconverted = [items.columns[0]!, { num: 2, name: 'label', type: 'public.citext' }];
    expect(committedLosses([items], [now(items, { columns: unconverted })], []).losses).toEqual([]);
    expect(
      committedLosses([items], [now(items, { columns: unconverted, node: 101 })], []).losses,
    ).toEqual([
      'column label of table workspace.items (2 rows) changed type from text to public.citext',
    ]);
  });
});
