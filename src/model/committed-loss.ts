import type { HeldTable, TableNow } from '../catalog/rows.js';
import { holderOf } from '../catalog/rows.js';
import type { Holder } from './protect.js';

/** What a statement that committed on its own took from the tables that held rows before it. */
export interface CommittedLoss {
  /** One sentence per loss, as the measurement in a transaction says them. */
  losses: string[];
  holders: Holder[];
}

const held = (t: HeldTable) =>
  t.rows < 0 ? 'rows this role cannot count' : t.rows === 1 ? '1 row' : `${t.rows} rows`;

/**
 * The losses of tables that held rows before a statement that ran beyond the
 * measurement (a DO block or procedure that COMMITs): gone, empty, a column
 * gone, or a column's type changed other than by a widening the forecast
 * allowed (`widened`: table OID and column name). Columns are matched by
 * number: a renamed column is no loss. Pure.
 */
export function committedLosses(
  before: readonly HeldTable[],
  now: readonly TableNow[],
  widened: ReadonlyArray<{ oid: number; column: string }>,
): CommittedLoss {
  const after = new Map(now.map((t) => [t.oid, t]));
  const losses: string[] = [];
  const holders = new Map<string, Holder>();
  for (const table of before) {
    const found: string[] = [];
    const current = after.get(table.oid);
    if (!current?.exists) found.push(`table ${table.identity} held ${held(table)} and is gone`);
    else {
      if (!current.hasRows)
        found.push(`table ${table.identity} held ${held(table)} and is now empty`);
      const columns = new Map(current.columns.map((c) => [c.num, c]));
      for (const column of table.columns) {
        const same = columns.get(column.num);
        if (!same)
          found.push(
            `column ${column.name} of table ${table.identity} held data (${held(table)}) and is gone`,
          );
        else if (
          same.type !== column.type &&
          !widened.some((w) => w.oid === table.oid && w.column === column.name)
        )
          found.push(
            `column ${column.name} of table ${table.identity} (${held(table)}) changed type from ${column.type} to ${same.type}`,
          );
      }
    }
    if (found.length === 0) continue;
    losses.push(...found);
    holders.set(table.identity, holderOf(table.identity, table.rows));
  }
  return {
    losses,
    holders: [...holders.values()].sort((a, b) =>
      a.table < b.table ? -1 : a.table > b.table ? 1 : 0,
    ),
  };
}
